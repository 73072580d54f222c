# Subshells and groups, exit statuses, && and ||, set -e.
x=outer
( x=inner; echo "subshell sees $x" )
echo "parent keeps $x"
{ x=grouped; }
echo "group changed it: $x"
(exit 4); echo "subshell status $?"
true && echo "and runs"
false || echo "or runs"
false && echo "never"
sh -c 'set -e; echo before; false; echo after'; echo "set -e status: $?"
out=$(set -e; echo start; false; echo unreachable); echo "captured: $out"
if ! false; then echo "negation works"; fi
