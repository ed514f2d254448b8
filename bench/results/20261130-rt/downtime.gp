set terminal pngcairo size 900,600 font ",11"
set output "downtime.png"
set title "Downtime vs data size (1 KiB random values; median, bars: min-max)"
set xlabel "data held"
set ylabel "downtime (ms, log scale)"
set logscale xy
set xtics ("1 GiB" 1.000000, "8 GiB" 8.000000)
set format y "%g"
set grid
set key top left box opaque
set xrange [0.714286:11.200000]
plot "downtime.dat" index 0 using 1:2:3:4 with yerrorlines lw 2 pt 7 title "kvd live upgrade (client, open conn)", \
     "downtime.dat" index 1 using 1:2:3:4 with yerrorlines lw 2 pt 7 title "kvd live upgrade (in-process)", \
     "downtime.dat" index 2 using 1:2:3:4 with yerrorlines lw 2 pt 7 title "memcached warm restart", \
     "downtime.dat" index 3 using 1:2:3:4 with yerrorlines lw 2 pt 7 title "redis RDB restart"
