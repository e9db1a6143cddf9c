// W2 peer: spawn n goroutines that each return a value (into its slot of a
// results slice), wait for all with a sync.WaitGroup.  Run with
// GOMAXPROCS=1 and with the default by two systems of the workload.
// Prints RESULT rate (goroutines/s, spawn to last result) and RESULT rss_kb.
package main

import (
	"flag"
	"fmt"
	"sync"
	"syscall"
	"time"
)

func main() {
	n := flag.Int("n", 1000000, "tasks")
	flag.Parse()
	results := make([]int, *n)
	var wg sync.WaitGroup
	t0 := time.Now()
	for i := 0; i < *n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			results[i] = i * 2
		}(i)
	}
	wg.Wait()
	elapsed := time.Since(t0).Seconds()
	sum := 0
	for _, v := range results {
		sum += v
	}
	if sum != *n*(*n-1) {
		panic("lost a result")
	}
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	fmt.Printf("RESULT rate %.1f\n", float64(*n)/elapsed)
	fmt.Printf("RESULT rss_kb %d\n", ru.Maxrss)
}
