# SPDX-License-Identifier: GPL-2.0-only
# bench/plot.gp: PNG plots of bench/run's medians (DIR/*.dat).
# Usage: gnuplot -e "dir='DIR'" bench/plot.gp

if (!exists("dir")) dir = "."
has(f) = int(system("test -s '" . f . "' && echo 1 || echo 0"))
term = (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) ? "pngcairo" : "png"
if (term eq "pngcairo") {
	set terminal pngcairo size 900,520 font "sans,10"
} else {
	set terminal png size 900,520
}
set datafile missing "nan"
set grid ytics
set key outside right top

f = dir . "/demand.dat"
if (has(f)) {
	set output dir . "/demand.png"
	set title "Demand paging: pages/s (median), each page touched once"
	set style data histograms
	set style histogram clustered gap 1
	set style fill solid 0.8 border -1
	set ylabel "pages/s"
	set yrange [0:*]
	plot f using 2:xtic(1) title "floor (no pager)", \
	     '' using 3 title "bare: zeropage", \
	     '' using 4 title "bare: copy", \
	     '' using 5 title "bare: continue", \
	     '' using 6 title "pager: zero-fill", \
	     '' using 7 title "pager: swap-in", \
	     '' using 8 title "pager: minor"
	unset output
}

f = dir . "/sweep.dat"
if (has(f)) {
	set output dir . "/sweep.png"
	set title "Overcommitted sweep: guest pages/s (median) against guest RAM / resident limit"
	set style data linespoints
	set logscale y
	set yrange [*:*]
	set xlabel "guest RAM / resident limit"
	set ylabel "pages/s (log)"
	set xtics (1.33, 2, 4, 8)
	plot f using 1:2 title "resident, seq" lw 2 pt 7, \
	     '' using 1:3 title "pager, seq" lw 2 pt 5, \
	     '' using 1:4 title "host swap, seq (missing = killed)" lw 2 pt 9, \
	     '' using 1:5 title "resident, rand" lw 2 pt 6 dt 2, \
	     '' using 1:6 title "pager, rand" lw 2 pt 4 dt 2, \
	     '' using 1:7 title "host swap, rand (missing = killed)" lw 2 pt 8 dt 2
	unset logscale y
	unset xlabel
	set xtics autofreq
	unset output
}

f = dir . "/start.dat"
if (has(f)) {
	set output dir . "/start.png"
	set title "Start to exit: hello.elf, wall ms (median, log scale)"
	set style data histograms
	set style histogram clustered gap 1
	set style fill solid 0.8 border -1
	set logscale y
	set yrange [1:*]
	set ylabel "ms"
	unset key
	plot f using 2:xtic(1)
	unset logscale y
	set key outside right top
	unset output
}

f = dir . "/reclaim.dat"
if (has(f)) {
	set output dir . "/reclaim.png"
	set title "Reclaim throughput against sequential writes to the same directory (median MiB/s)"
	set style data histograms
	set style histogram clustered gap 1
	set style fill solid 0.8 border -1
	set yrange [0:*]
	set ylabel "MiB/s"
	unset key
	plot f using 2:xtic(1)
	set key outside right top
	unset output
}

f = dir . "/overhead.dat"
if (has(f)) {
	set output dir . "/overhead.png"
	set title "VMM overhead: RSS that is not guest RAM (median MiB); target 5 MiB"
	set style data histograms
	set style histogram clustered gap 1
	set style fill solid 0.8 border -1
	set yrange [*:*]
	set ylabel "MiB"
	plot f using 2:xtic(1) title "own RSS (anon + file)", \
	     '' using 3 title "peak RSS - guest-resident", \
	     5 with lines lw 2 dt 2 title "target"
	unset output
}
