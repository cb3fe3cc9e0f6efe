package homepage

import "runtime"

// heapInUse is runtime.MemStats.HeapInuse, after a collection when settled is set.
func heapInUse(settled bool) uint64 {
	if settled {
		runtime.GC()
	}
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}
