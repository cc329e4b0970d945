package main

import (
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// writeChart draws ns/object against replicas, both on log scales: one
// line per series and workload, a colour per series and a dash and marker
// per workload. format is "svg" or "png".
func writeChart(file, format string, cfg config, rows []Row) error {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("quorum: %d objects of %d bytes on %s", cfg.objects, cfg.objectSize, cpuName())
	p.X.Label.Text = "replicas"
	p.Y.Label.Text = "ns per object (median)"
	p.X.Scale, p.Y.Scale = plot.LogScale{}, plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	var xticks plot.ConstantTicks
	for _, row := range rows {
		xticks = append(xticks, plot.Tick{Value: float64(row.Replicas), Label: strconv.Itoa(row.Replicas)})
	}
	p.X.Tick.Marker = xticks
	p.Add(plotter.NewGrid())
	p.Legend.Top, p.Legend.Left = true, true
	p.Legend.Padding = vg.Points(2)
	p.Legend.XOffs, p.Legend.YOffs = vg.Points(8), vg.Points(-8)
	p.Legend.ThumbnailWidth = vg.Points(30)

	lo, hi := math.Inf(1), math.Inf(-1)
	for i, s := range cfg.series {
		for j, wl := range cfg.workloads {
			pts := make(plotter.XYs, len(rows))
			for k, row := range rows {
				pts[k].X, pts[k].Y = float64(row.Replicas), lookup(row, s, wl).NsPerObject
				lo, hi = min(lo, pts[k].Y), max(hi, pts[k].Y)
			}
			line, points, err := plotter.NewLinePoints(pts)
			if err != nil {
				return err
			}
			line.Color, line.Dashes = plotutil.Color(i), plotutil.Dashes(j)
			line.Width = vg.Points(1.5)
			points.Color, points.Shape = plotutil.Color(i), plotutil.Shape(j)
			p.Add(line, points)
			p.Legend.Add(fmt.Sprintf("%s %s", s, strings.ToUpper(wl)), line, points)
		}
	}
	// Whole decades on Y, so the log ticks at both ends are labelled.
	p.Y.Min, p.Y.Max = math.Pow(10, math.Floor(math.Log10(lo))), math.Pow(10, math.Ceil(math.Log10(hi)))
	if p.Y.Max <= p.Y.Min {
		p.Y.Max = p.Y.Min * 10
	}
	// A little room each side of the first and last replica counts.
	p.X.Min, p.X.Max = p.X.Min/1.15, p.X.Max*1.15

	wt, err := p.WriterTo(8*vg.Inch, 5*vg.Inch, format)
	if err != nil {
		return err
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := wt.WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
