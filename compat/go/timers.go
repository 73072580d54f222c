// Time: time.Sleep, timers, tickers, AfterFunc, a context deadline, and select with a timeout.
package main

import (
	"context"
	"fmt"
	"time"
)

func main() {
	start := time.Now()
	time.Sleep(20 * time.Millisecond)
	fmt.Println("slept at least 20ms:", time.Since(start) >= 20*time.Millisecond)

	timer := time.NewTimer(15 * time.Millisecond)
	<-timer.C
	fmt.Println("timer fired")
	stopped := time.NewTimer(time.Hour)
	fmt.Println("stopped a pending timer:", stopped.Stop())

	ticker := time.NewTicker(5 * time.Millisecond)
	ticks := 0
	for range ticker.C {
		ticks++
		if ticks == 5 {
			ticker.Stop()
			break
		}
	}
	fmt.Println("ticks:", ticks)

	fired := make(chan string)
	time.AfterFunc(10*time.Millisecond, func() { fired <- "after func ran" })
	fmt.Println(<-fired)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	select {
	case <-ctx.Done():
		fmt.Println("context:", ctx.Err())
	case <-time.After(time.Second):
		fmt.Println("context deadline missed")
	}

	never := make(chan int)
	select {
	case <-never:
		fmt.Println("impossible")
	case <-time.After(25 * time.Millisecond):
		fmt.Println("select timed out")
	}
	fmt.Println("total at least 100ms:", time.Since(start) >= 100*time.Millisecond)
}
