// Goroutines on every core: a worker pool fed by channels and joined with sync.WaitGroup, a
// mutex-guarded counter, a goroutine prime sieve, and a select over several channels.
package main

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
)

func sieve(limit int) []int {
	source := make(chan int)
	go func() {
		for i := 2; ; i++ {
			source <- i
		}
	}()
	var primes []int
	ch := source
	for len(primes) < limit {
		prime := <-ch
		primes = append(primes, prime)
		in, out := ch, make(chan int)
		go func(p int) {
			for {
				if n := <-in; n%p != 0 {
					out <- n
				}
			}
		}(prime)
		ch = out
	}
	return primes
}

func main() {
	jobs, results := make(chan int, 64), make(chan int, 64)
	var workers sync.WaitGroup
	for w := 0; w < 8; w++ {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for j := range jobs {
				results <- j * j
			}
		}()
	}
	go func() {
		for i := 1; i <= 2000; i++ {
			jobs <- i
		}
		close(jobs)
	}()
	go func() { workers.Wait(); close(results) }()
	sum := 0
	for r := range results {
		sum += r
	}
	fmt.Println("sum of squares 1..2000:", sum)

	var mu sync.Mutex
	var group sync.WaitGroup
	count, atomics := 0, int64(0)
	for g := 0; g < 64; g++ {
		group.Add(1)
		go func() {
			defer group.Done()
			for k := 0; k < 500; k++ {
				mu.Lock()
				count++
				mu.Unlock()
				atomic.AddInt64(&atomics, 2)
				if k%100 == 0 {
					runtime.Gosched()
				}
			}
		}()
	}
	group.Wait()
	fmt.Println("mutex counter:", count, "atomic counter:", atomics)

	fmt.Println("first primes:", sieve(25))

	a, b, done := make(chan string), make(chan string), make(chan bool)
	go func() {
		for i := 0; i < 3; i++ {
			a <- fmt.Sprint("a", i)
		}
	}()
	go func() {
		for i := 0; i < 3; i++ {
			b <- fmt.Sprint("b", i)
		}
	}()
	got := map[string]bool{}
	go func() {
		for len(got) < 6 {
			select {
			case m := <-a:
				got[m] = true
			case m := <-b:
				got[m] = true
			}
		}
		done <- true
	}()
	<-done
	fmt.Println("select received", len(got), "messages; GOMAXPROCS at least 1:", runtime.GOMAXPROCS(0) >= 1)
}
