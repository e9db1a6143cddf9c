// W3 peer, futures style: the same 2-goroutine worker pool, but each job
// carries its own buffered result channel (Go's idiom for a future), main
// submits every job, then reads every job's channel in order, as the loom
// and Python versions collect every future.  Prints RESULT rate <jobs/s>.
package main

import (
	"flag"
	"fmt"
	"os"
	"time"
)

type job struct {
	in  int64
	out chan int64
}

func worker(jobs <-chan job) {
	for j := range jobs {
		j.out <- j.in + 1
	}
}

func main() {
	n := flag.Int64("n", 200000, "jobs")
	flag.Parse()
	jobs := make(chan job, 1024)
	t0 := time.Now()
	for w := 0; w < 2; w++ {
		go worker(jobs)
	}
	results := make([]chan int64, 0, *n)
	for i := int64(0); i < *n; i++ {
		c := make(chan int64, 1)
		results = append(results, c)
		jobs <- job{i, c}
	}
	close(jobs)
	var sum int64
	for _, c := range results {
		sum += <-c
	}
	dt := time.Since(t0).Seconds()
	if sum != *n*(*n+1)/2 {
		fmt.Fprintln(os.Stderr, "wrong sum", sum)
		os.Exit(1)
	}
	fmt.Printf("RESULT rate %.1f\n", float64(*n)/dt)
}
