# Here-documents: expanded, quoted (literal), with leading tabs stripped, into commands.
name=kernkit
cat <<EOF2
Hello, $name.
Two plus three is $((2 + 3)).
Today: $(echo computed)
EOF2
cat <<'EOF2'
Nothing expands: $name $((1 + 1)) `echo no`
EOF2
cat <<-EOF2
	tabs are stripped
		both of them
	EOF2
tr a-z A-Z <<EOF2
shouted $name
EOF2
while read -r a b; do echo "$b $a"; done <<EOF2
one 1
two 2
EOF2
