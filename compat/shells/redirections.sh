# Redirections: files, appending, stderr, descriptors, /dev/null, reading.
echo first > /tmp/out
echo second >> /tmp/out
cat /tmp/out
ls /nowhere 2> /tmp/err; echo "status $?"
wc -l < /tmp/err
{ echo to-stdout; echo to-stderr >&2; } 2>/dev/null
{ echo to-stdout; echo to-stderr >&2; } 2>&1 | sort
exec 3> /tmp/fd3
echo "via fd 3" >&3
exec 3>&-
cat /tmp/fd3
exec 4< /tmp/out
read -r line <&4; echo "fd 4 read: $line"
read -r line <&4; echo "fd 4 read: $line"
exec 4<&-
: > /tmp/empty; wc -c < /tmp/empty
echo data > /tmp/a && cat < /tmp/a > /tmp/b && cat /tmp/b
