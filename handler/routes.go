package main

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/functions"
	"github.com/arrops/arrops/functions/commands"
	"github.com/arrops/arrops/functions/convert"
	"github.com/arrops/arrops/functions/due"
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
	followUps := a.followUps
	blobs := functions.Map(&a.blobs, func(b *convert.Blobs) functions.BlobReader { return b })
	conv := convert.Deps{Config: a.cfg, ARR: &a.arr, Bus: bus, Now: a.now, Access: &a.access, Blobs: blobs, FollowUps: followUps,
		Records: functions.Map(&a.store, func(s *store.Store) functions.ConversionRecords { return s })}
	watchDeps := watch.Deps{Config: a.cfg, ARR: &a.arr, Bus: bus, Now: a.now, Blobs: blobs, FollowUps: followUps, Deadlines: a.deadlines, Pool: a.pool, Reservations: a.reserve,
		Fallback: &functions.Fallback{Size: a.cfg.FallbackSize, FollowUps: followUps},
		Records:  functions.Map(&a.store, func(s *store.Store) watch.Records { return s })}
	shutdownDeps := shutdown.Deps{Config: a.cfg, ARR: &a.arr, Bus: bus, Now: a.now, Deadlines: a.deadlines,
		Records: functions.Map(&a.store, func(s *store.Store) shutdown.Records { return s })}
	route("commands", commands.New(commands.Deps{Config: a.cfg, ARR: &a.arr, Bus: bus, Now: a.now, Convert: conv.Request,
		FollowUps: followUps, Deadlines: a.deadlines, Pool: a.pool, Reservations: a.reserve,
		Records: functions.Map(&a.store, func(s *store.Store) commands.Records { return s })}))
	route("watch", watch.New(watchDeps))
	route("due", due.New(due.Deps{FollowUps: followUps, Due: &a.due, Now: a.now, Pool: a.pool, Reservations: a.reserve,
		Sweep: func(ctx context.Context, log *slog.Logger) (bool, error) {
			st, err := watch.Sweep(ctx, watchDeps)
			log.Info("follow-up sweep", "listed", st.Listed, "gets", st.Gets, "conversionGets", st.ConversionGets, "writes", st.Writes,
				"inTransition", st.InTransition)
			return st.InTransition > 0, err
		},
		Deadline: func(ctx context.Context, msg arrops.DueMessage, log *slog.Logger) error {
			st, err := shutdown.Deadline(ctx, shutdownDeps, msg.SessionID, msg.At, log)
			log.Info("deadline", "stopped", st.Stopped, "warned", st.Warned, "wouldStop", st.WouldStop, "armed", st.Armed)
			return err
		}}))
	route("shutdown", shutdown.New(shutdownDeps))
	route("convert", convert.New(conv))
	route("report", report.New(report.Deps{Config: a.cfg, Now: a.now,
		Records: functions.Map(&a.store, func(s *store.Store) report.Records { return s })}))
}
