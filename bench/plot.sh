#!/usr/bin/env bash
# Draws the benches' figures as PNGs with gnuplot:
#
#	scale.png        bench/scale.sh: seconds per step against services,
#	                 log-log (a straight line of slope 1 is linear)
#	packet-cost.png  bench/packet-cost.sh: each (traffic, setup, sender)'s
#	                 rate as a ratio to no confine, as bars
#	run-start.png    bench/run-start.sh: median start in ms, as bars (log)
#
#	bash bench/plot.sh [DIR [AFTER_DIR]]
#
# DIR holds scale.dat, packet-cost.dat and run-start.dat (default
# bench/out, where the benches write them); a file that is missing is
# skipped. With AFTER_DIR, each figure shows both: DIR as "before"
# (dashed, light) and AFTER_DIR as "after". The PNGs go to OUT_DIR
# (default docs/perf). Needs gnuplot (bench/install-deps.sh). Seconds.
set -u
bench=$(cd "$(dirname "$0")" && pwd)
before=${1:-$bench/out}
after=${2:-}
outdir=${OUT_DIR:-$bench/../docs/perf}
mkdir -p "$outdir"
command -v gnuplot >/dev/null || { echo "plot.sh: needs gnuplot (bash bench/install-deps.sh)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# numeric FILE: FILE without comments, with every figure that is not a
# number ("timeout", "-", "123(failed)") as NaN, which gnuplot leaves out.
numeric() {
	grep -v '^#' "$1" | awk '{ for (i = 1; i <= NF; i++) if ($i !~ /^[0-9.]+$/ && i > 1) $i = "NaN"; print }'
}

plot_scale() {
	local f=$before/scale.dat plots=() col name
	[ -f "$f" ] || return 0
	numeric "$f" >"$tmp/scale-before"
	[ -n "$after" ] && [ -f "$after/scale.dat" ] && numeric "$after/scale.dat" >"$tmp/scale-after"
	col=2
	for name in apply reapply status remove; do
		if [ -f "$tmp/scale-after" ]; then
			plots+=("'$tmp/scale-before' using 1:$col with linespoints dt 2 lc $col title '$name (before)'")
			plots+=("'$tmp/scale-after' using 1:$col with linespoints lw 2 lc $col title '$name (after)'")
		else
			plots+=("'$tmp/scale-before' using 1:$col with linespoints lw 2 lc $col title '$name'")
		fi
		col=$((col + 1))
	done
	gnuplot <<-EOF
		set terminal pngcairo size 800,520
		set output '$outdir/scale.png'
		set title 'confine: time per step against services (log-log; missing point = timeout)'
		set logscale xy
		set xlabel 'services'
		set ylabel 'seconds'
		set grid
		set key top left
		plot $(IFS=,; echo "${plots[*]}")
	EOF
	echo "written: $outdir/scale.png"
}

plot_bars() { # NAME DAT LABEL_COLS VALUE_COL YLABEL TITLE [REFERENCE_Y|log]
	local name=$1 f=$before/$2 labels=$3 value=$4 ylabel=$5 title=$6 ref=${7:-} plots
	[ -f "$f" ] || return 0
	# One row per bar: label, before, after (NaN when there is none).
	grep -v '^#' "$f" | awk -v l="$labels" -v v="$value" '{
		n = split(l, c, ","); s = $c[1]; for (i = 2; i <= n; i++) s = s "/" $c[i]
		print s, ($v ~ /^[0-9.]+$/ ? $v : "NaN") }' >"$tmp/$name-before"
	if [ -n "$after" ] && [ -f "$after/$2" ]; then
		grep -v '^#' "$after/$2" | awk -v l="$labels" -v v="$value" '{
			n = split(l, c, ","); s = $c[1]; for (i = 2; i <= n; i++) s = s "/" $c[i]
			print s, ($v ~ /^[0-9.]+$/ ? $v : "NaN") }' >"$tmp/$name-after"
		awk 'NR == FNR { a[$1] = $2; next } { print $1, $2, ($1 in a ? a[$1] : "NaN") }' \
			"$tmp/$name-after" "$tmp/$name-before" >"$tmp/$name"
		plots="'$tmp/$name' using 2:xtic(1) title 'before' lc rgb '#a0a0a0', '' using 3 title 'after' lc rgb '#3060c0'"
	else
		cp "$tmp/$name-before" "$tmp/$name"
		plots="'$tmp/$name' using 2:xtic(1) notitle lc rgb '#3060c0'"
	fi
	gnuplot <<-EOF
		set terminal pngcairo size 1000,560
		set output '$outdir/$name.png'
		set title '$title'
		set style data histograms
		set style histogram clustered gap 1
		set style fill solid 0.8 border -1
		set boxwidth 0.9
		set xtics rotate by -50 font ',8'
		set ylabel '$ylabel'
		set rmargin 10
		$(if [ "$ref" = log ]; then echo 'set logscale y'; else echo 'set yrange [0:*]'; fi)
		set grid ytics
		set key outside top center horizontal
		$([ -n "$ref" ] && [ "$ref" != log ] && echo "set arrow from graph 0, first $ref to graph 1, first $ref nohead dt 3 lc rgb '#000000'")
		plot $plots
	EOF
	echo "written: $outdir/$name.png"
}

plot_scale
plot_bars packet-cost packet-cost.dat 1,2,3 6 'rate / rate with no confine' \
	'per-packet cost: ratio to no confine (1 = free; traffic/setup/sender)' 1
plot_bars run-start run-start.dat 1 2 'ms (median, log scale)' 'start of /bin/true' log
