// queue_go.go - peer for the queue workloads: N items through a buffered Go
// channel (capacity 1024) from P producer goroutines to C consumer
// goroutines. Prints RESULT rate <items/s>.
package main

import (
	"flag"
	"fmt"
	"os"
	"sync"
	"time"
)

func main() {
	n := flag.Int64("n", 1000000, "items")
	p := flag.Int64("producers", 1, "producers")
	c := flag.Int64("consumers", 1, "consumers")
	flag.Parse()
	ch := make(chan int64, 1024)
	per := *n / *p
	total := per * *p
	sums := make([]int64, *c)
	var pw, cw sync.WaitGroup
	t0 := time.Now()
	for j := int64(0); j < *c; j++ {
		cw.Add(1)
		go func(j int64) {
			defer cw.Done()
			var s int64
			for v := range ch {
				s += v
			}
			sums[j] = s
		}(j)
	}
	for i := int64(0); i < *p; i++ {
		pw.Add(1)
		go func(i int64) {
			defer pw.Done()
			for k := int64(1); k <= per; k++ {
				ch <- i*per + k
			}
		}(i)
	}
	pw.Wait()
	close(ch)
	cw.Wait()
	dt := time.Since(t0).Seconds()
	var sum int64
	for _, s := range sums {
		sum += s
	}
	if sum != total*(total+1)/2 {
		fmt.Fprintln(os.Stderr, "bad sum")
		os.Exit(1)
	}
	fmt.Printf("RESULT rate %.1f\n", float64(total)/dt)
}
