# Parameter expansion, case, IFS, set and shift, printf.
path=/usr/local/lib/libkern.so.1
echo "${path##*/} ${path%/*} ${path#/usr} ${path%.*} ${#path}"
unset missing; echo "${missing:-default} ${missing-unset} [${missing:+alt}]"
set -- one two "three four"; echo "$# args, second: $2, all: $*"
shift; echo "after shift: $1 / $2"
IFS=:; set -- $(echo "a:b::c"); echo "fields: $#"; IFS=' '
for w in apple Fig 42 _x; do
    case $w in [a-z]*) echo "$w lower";; [A-Z]*) echo "$w upper";; [0-9]*) echo "$w digit";; *) echo "$w other";; esac
done
printf '%-6s|%6s|%03d|%.2f\n' left right 7 3.14159
x=5; y=3; echo "$((x * y)) $((x / y)) $((x % y)) $((x << 2)) $((x > y))"
s="a,b,c"; old=$IFS; IFS=,; for p in $s; do printf '<%s>' "$p"; done; IFS=$old; echo
