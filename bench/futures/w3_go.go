// W3 peer: the idiomatic Go worker pool (as in "Go by Example"): two worker
// goroutines read jobs from a channel and send results on a results
// channel; a feeder goroutine submits N trivial jobs while main collects
// every result.  Prints RESULT rate <jobs/s>.
package main

import (
	"flag"
	"fmt"
	"os"
	"time"
)

func worker(jobs <-chan int64, results chan<- int64) {
	for j := range jobs {
		results <- j + 1
	}
}

func main() {
	n := flag.Int64("n", 200000, "jobs")
	flag.Parse()
	jobs := make(chan int64, 1024)
	results := make(chan int64, 1024)
	t0 := time.Now()
	for w := 0; w < 2; w++ {
		go worker(jobs, results)
	}
	go func() {
		for i := int64(0); i < *n; i++ {
			jobs <- i
		}
		close(jobs)
	}()
	var sum int64
	for i := int64(0); i < *n; i++ {
		sum += <-results
	}
	dt := time.Since(t0).Seconds()
	if sum != *n*(*n+1)/2 {
		fmt.Fprintln(os.Stderr, "wrong sum", sum)
		os.Exit(1)
	}
	fmt.Printf("RESULT rate %.1f\n", float64(*n)/dt)
}
