package bench

import (
	"fmt"
	"io"
	"math"
)

// plotEndToEnd draws p50 and p99 latency against the offered rate as an SVG, on a log
// scale with the 250 ms target marked, so where the pipeline bends shows at a glance.
func plotEndToEnd(w io.Writer, rs []EndToEndResult) {
	const (
		width, height = 640, 360
		left, right   = 70, 20
		top, bottom   = 30, 50
		lowMs, highMs = 1.0, 100000.0
	)
	maxRate := 1
	for _, r := range rs {
		maxRate = max(maxRate, r.TargetRate)
	}
	x := func(rate int) float64 {
		return left + float64(rate)/float64(maxRate)*(width-left-right)
	}
	y := func(ms float64) float64 {
		ms = min(max(ms, lowMs), highMs)
		f := (math.Log10(ms) - math.Log10(lowMs)) / (math.Log10(highMs) - math.Log10(lowMs))
		return height - bottom - f*(height-top-bottom)
	}
	fmt.Fprintf(w, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", width, height, width, height)
	fmt.Fprintf(w, `<rect width="%d" height="%d" fill="white"/>`+"\n", width, height)
	fmt.Fprintf(w, `<text x="%d" y="18" font-size="14">End to end, dev mode: latency by offered rate</text>`+"\n", left)
	for ms := lowMs; ms <= highMs; ms *= 10 {
		fmt.Fprintf(w, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", left, width-right, y(ms), y(ms))
		fmt.Fprintf(w, `<text x="%d" y="%.1f" text-anchor="end">%g ms</text>`+"\n", left-6, y(ms)+4, ms)
	}
	fmt.Fprintf(w, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#c00" stroke-dasharray="6 4"/>`+"\n", left, width-right, y(250), y(250))
	fmt.Fprintf(w, `<text x="%d" y="%.1f" fill="#c00">p99 target 250 ms</text>`+"\n", left+6, y(250)-5)
	for _, r := range rs {
		fmt.Fprintf(w, `<text x="%.1f" y="%d" text-anchor="middle">%d</text>`+"\n", x(r.TargetRate), height-bottom+16, r.TargetRate)
	}
	fmt.Fprintf(w, `<text x="%d" y="%d" text-anchor="middle">barrages per second offered (the table has what was achieved)</text>`+"\n", (width+left-right)/2, height-12)
	series := []struct {
		name, color string
		ms          func(EndToEndResult) float64
	}{
		{"p50", "#06c", func(r EndToEndResult) float64 { return r.P50 }},
		{"p99", "#e80", func(r EndToEndResult) float64 { return r.P99 }},
	}
	for i, s := range series {
		points := ""
		for _, r := range rs {
			points += fmt.Sprintf("%.1f,%.1f ", x(r.TargetRate), y(s.ms(r)))
		}
		fmt.Fprintf(w, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"/>`+"\n", points, s.color)
		for _, r := range rs {
			fmt.Fprintf(w, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>`+"\n", x(r.TargetRate), y(s.ms(r)), s.color)
		}
		fmt.Fprintf(w, `<text x="%d" y="%d" fill="%s">%s</text>`+"\n", left+10, top+14+16*i, s.color, s.name)
	}
	fmt.Fprintln(w, `</svg>`)
}
