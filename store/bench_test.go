package store

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/internal/azuritetest"
)

// BenchmarkCreateSession compares CreateSession (index + record insert) with
// a bare aztables AddEntity of the same entity, the baseline, against the
// same Azurite.
func BenchmarkCreateSession(b *testing.B) {
	az := azuritetest.Start(b)
	f := newFixture(b, az, 0, nil)
	ctx := context.Background()
	tc := f.raw.NewClient(f.opts.SessionsTable)
	sess := func(prefix string, i int) *arrops.Session {
		s := fullSession()
		s.ID, s.ETag = fmt.Sprintf("%s%09d", prefix, i), ""
		return s
	}
	// Ids continue across repeats (-count runs a sub-benchmark again in the
	// same tables): every iteration inserts a new entity.
	i := 0
	b.Run("baseline=AddEntity", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			s := sess("raw", i)
			i++
			body, err := encodeSession(dayKey(s.CreatedAt), s)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := tc.AddEntity(ctx, body, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("CreateSession", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			s := sess("st", i)
			i++
			if _, _, err := f.st.CreateSession(ctx, s); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkSessionsByDay reads N rows through SessionsByDay (decoded) and
// through the raw ListEntities pager (bytes only, the baseline).
func BenchmarkSessionsByDay(b *testing.B) {
	az := azuritetest.Start(b)
	f := newFixture(b, az, 0, nil)
	ctx := context.Background()
	tc := f.raw.NewClient(f.opts.SessionsTable)
	const n = 1000
	day := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	for batch := 0; batch < n; batch += 100 {
		var actions []aztables.TransactionAction
		for i := batch; i < batch+100; i++ {
			s := fullSession()
			s.ID, s.CreatedAt = fmt.Sprintf("s%05d", i), day.Add(time.Duration(i)*time.Second)
			body, _ := encodeSession(dayKey(day), s)
			actions = append(actions, aztables.TransactionAction{ActionType: aztables.TransactionTypeAdd, Entity: body})
		}
		if _, err := tc.SubmitTransaction(ctx, actions, nil); err != nil {
			b.Fatal(err)
		}
	}
	filter, _ := dayRange(day, day.Add(24*time.Hour))
	b.Run("baseline=ListEntities", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			rows := 0
			pager := tc.NewListEntitiesPager(&aztables.ListEntitiesOptions{Filter: &filter})
			for pager.More() {
				page, err := pager.NextPage(ctx)
				if err != nil {
					b.Fatal(err)
				}
				rows += len(page.Entities)
			}
			if rows != n {
				b.Fatalf("%d rows", rows)
			}
		}
	})
	b.Run("SessionsByDay", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			rows := 0
			for _, err := range f.st.SessionsByDay(ctx, day, day.Add(24*time.Hour)) {
				if err != nil {
					b.Fatal(err)
				}
				rows++
			}
			if rows != n {
				b.Fatalf("%d rows", rows)
			}
		}
	})
}
