# Functions: arguments, return status, local variables, recursion.
greet() { echo "hello, $1 ($# args)"; }
greet world a b
fact() {
    if [ "$1" -le 1 ]; then echo 1; return; fi
    echo $(( $1 * $(fact $(( $1 - 1 ))) ))
}
echo "10! = $(fact 10)"
fib() { local n=$1; if [ "$n" -lt 2 ]; then echo "$n"; else echo $(( $(fib $((n - 1))) + $(fib $((n - 2))) )); fi; }
echo "fib 8 = $(fib 8)"
x=global
scoped() { local x=inner; echo "inside: $x"; }
scoped
echo "outside: $x"
fails() { return 3; }
fails; echo "status $?"
fails || echo "failed as expected"
counter=0
bump() { counter=$((counter + 1)); }
bump; bump; bump
echo "counter $counter"
args() { shift 2; echo "after shift: $*"; }
args a b c d
