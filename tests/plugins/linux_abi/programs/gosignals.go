package main

import (
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"sync"
	"syscall"
	"time"
)

func main() {
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGUSR1)
	syscall.Kill(os.Getpid(), syscall.SIGUSR1)
	fmt.Println("got", <-c)
	var wg sync.WaitGroup
	total := 0
	var mu sync.Mutex
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func(n int) {
			defer wg.Done()
			s := 0
			for j := 0; j < 3000000; j++ { s += j % (n + 2) }
			mu.Lock(); total += s; mu.Unlock()
		}(i)
	}
	wg.Wait()
	fmt.Println("goroutines done", total, runtime.NumCPU())
	time.Sleep(10 * time.Millisecond)
	defer func() { fmt.Println("recovered:", recover() != nil) }()
	var p *int
	fmt.Println(*p)
}
