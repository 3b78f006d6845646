package main

import (
	"net/http"

	"github.com/arrops/arrops/functions"
	"github.com/arrops/arrops/functions/commands"
	"github.com/arrops/arrops/functions/convert"
	"github.com/arrops/arrops/functions/report"
	"github.com/arrops/arrops/functions/shutdown"
	"github.com/arrops/arrops/functions/watch"
	"github.com/arrops/arrops/notify"
	"github.com/arrops/arrops/store"
)

// addRoutes maps the host's probe and one POST route per function folder
// (functions/<name>/function.json): the folder name is the path.
func addRoutes(mux *http.ServeMux, a *app) {
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
	})
	bus := functions.Map(&a.bus, func(b *notify.Bus) functions.Publisher { return b })
	route := func(name string, f functions.Func) {
		mux.Handle("POST /"+name, functions.Handle(name, f, a.stdout, a.level))
	}
	blobs := functions.Map(&a.blobs, func(b *convert.Blobs) functions.BlobReader { return b })
	conv := convert.Deps{Config: a.cfg, ARR: &a.arr, Bus: bus, Now: a.now, Access: &a.access, Blobs: blobs,
		Records: functions.Map(&a.store, func(s *store.Store) functions.ConversionRecords { return s })}
	route("commands", commands.New(commands.Deps{Config: a.cfg, ARR: &a.arr, Bus: bus, Now: a.now, Convert: conv.Request,
		Records: functions.Map(&a.store, func(s *store.Store) commands.Records { return s })}))
	route("watch", watch.New(watch.Deps{Config: a.cfg, ARR: &a.arr, Bus: bus, Now: a.now, Blobs: blobs,
		Records: functions.Map(&a.store, func(s *store.Store) watch.Records { return s })}))
	route("shutdown", shutdown.New(shutdown.Deps{Config: a.cfg, ARR: &a.arr, Bus: bus, Now: a.now,
		Records: functions.Map(&a.store, func(s *store.Store) shutdown.Records { return s })}))
	route("convert", convert.New(conv))
	route("report", report.New(report.Deps{Config: a.cfg, Now: a.now,
		Records: functions.Map(&a.store, func(s *store.Store) report.Records { return s })}))
}
