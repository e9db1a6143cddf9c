// W6 peer: n goroutines each sleeping 10 s at once.  Prints RESULT start_s
// (from the first spawn until every goroutine is asleep), RESULT
// bytes_per_task (peak RSS / n) and RESULT rss_kb.
package main

import (
	"flag"
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	n := flag.Int("n", 1000000, "tasks")
	sleep := flag.Float64("sleep", 10, "seconds each goroutine sleeps")
	flag.Parse()
	var started int64
	allStarted := make(chan struct{})
	var wg sync.WaitGroup
	d := time.Duration(*sleep * float64(time.Second))
	t0 := time.Now()
	for i := 0; i < *n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if atomic.AddInt64(&started, 1) == int64(*n) {
				close(allStarted)
			}
			time.Sleep(d)
		}()
	}
	<-allStarted
	startS := time.Since(t0).Seconds()
	wg.Wait()
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	fmt.Printf("RESULT start_s %.4f\n", startS)
	fmt.Printf("RESULT bytes_per_task %.1f\n", float64(ru.Maxrss)*1024/float64(*n))
	fmt.Printf("RESULT rss_kb %d\n", ru.Maxrss)
}
