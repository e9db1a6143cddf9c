// W7 peer: n timers with random delays in [0, 1 s] with time.AfterFunc.
// Prints RESULT rate (timers/s: n over the time from the first AfterFunc to
// the last callback) and RESULT overhead_ms (that time beyond 1 s).
package main

import (
	"flag"
	"fmt"
	"math/rand"
	"sync/atomic"
	"time"
)

func main() {
	n := flag.Int("n", 1000000, "timers")
	flag.Parse()
	rng := rand.New(rand.NewSource(42))
	delays := make([]time.Duration, *n)
	for i := range delays {
		delays[i] = time.Duration(rng.Float64() * float64(time.Second))
	}
	var fired int64
	done := make(chan struct{})
	t0 := time.Now()
	for _, d := range delays {
		time.AfterFunc(d, func() {
			if atomic.AddInt64(&fired, 1) == int64(*n) {
				close(done)
			}
		})
	}
	<-done
	elapsed := time.Since(t0).Seconds()
	fmt.Printf("RESULT rate %.1f\n", float64(*n)/elapsed)
	fmt.Printf("RESULT overhead_ms %.1f\n", (elapsed-1)*1000)
}
