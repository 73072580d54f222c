#!/usr/bin/perl
# A short report: read a table, aggregate with hashes, sort, format, regexes, sprintf, files.
use strict;
use warnings;

my %count;
my %colour;
open(my $in, '<', '/data/table.csv') or die "table: $!";
my $header = <$in>;
while (my $line = <$in>) {
    chomp $line;
    my ($name, $n, $col) = split /,/, $line;
    $count{$name} += $n;
    $colour{$name} = $col;
}
close $in;
for my $name (sort { $count{$b} <=> $count{$a} || $a cmp $b } keys %count) {
    printf "%-8s %4d %s\n", $name, $count{$name}, uc $colour{$name};
}
my $total = 0;
$total += $_ for values %count;
print "total $total\n";
my @words = map { lc } grep { /^[A-Z]/ } split /\W+/, "The Quick brown Fox jumps Over the lazy Dog";
print join(",", @words), "\n";
(my $swapped = "key=value; other=thing") =~ s/(\w+)=(\w+)/$2=$1/g;
print "$swapped\n";
open(my $out, '>', '/tmp/perl-out') or die "out: $!";
print $out "line $_\n" for 1 .. 3;
close $out;
open($in, '<', '/tmp/perl-out') or die "read back: $!";
my @lines = <$in>;
close $in;
print scalar(@lines), " lines, last: $lines[-1]";
unlink '/tmp/perl-out';
print -e '/tmp/perl-out' ? "still there\n" : "removed\n";
my $ref = { list => [1 .. 5], nested => { deep => 'value' } };
print "sum ", eval { my $s = 0; $s += $_ for @{ $ref->{list} }; $s }, ", deep $ref->{nested}{deep}\n";
