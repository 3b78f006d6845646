package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/arrops/arrops"
)

// The follow-up chain's claim record lives in the sessions table under its
// own partition: day-range queries (PartitionKey between two yyyymmdd days)
// never read it, and it needs no table of its own.
const (
	duePartition = "due"
	chainRowKey  = "followup-chain"
)

type chainEntity struct {
	PartitionKey  string    `json:"PartitionKey"`
	RowKey        string    `json:"RowKey"`
	Gen           int64     `json:"Gen,string"`
	GenType       string    `json:"Gen@odata.type"`
	DueAt         time.Time `json:"DueAt,omitzero"`
	DueAtType     string    `json:"DueAt@odata.type,omitempty"`
	Nudges        int64     `json:"Nudges,string"`
	NudgesType    string    `json:"Nudges@odata.type"`
	UpdatedAt     time.Time `json:"UpdatedAt,omitzero"`
	UpdatedAtType string    `json:"UpdatedAt@odata.type,omitempty"`
}

// GetFollowUpChain returns the follow-up chain's claim record; before the
// first chain, a zero record (empty ETag: SaveFollowUpChain inserts it).
func (s *Store) GetFollowUpChain(ctx context.Context) (*arrops.FollowUpChain, error) {
	return s.GetDueMark(ctx, chainRowKey)
}

// SaveFollowUpChain writes c if the record is still as read (c.ETag; an
// empty ETag inserts the first one). Otherwise it returns
// ErrConcurrentUpdate: someone else moved the chain; re-read and decide again.
func (s *Store) SaveFollowUpChain(ctx context.Context, c *arrops.FollowUpChain) error {
	return s.SaveDueMark(ctx, chainRowKey, c)
}

// GetDueMark returns the claim record called name in the due partition (the
// follow-up chain is one, the warm pool's armed edge another); before its
// first write, a zero record.
func (s *Store) GetDueMark(ctx context.Context, name string) (*arrops.FollowUpChain, error) {
	resp, err := s.sessions.GetEntity(ctx, duePartition, name, nil)
	if isNotFound(err) {
		return &arrops.FollowUpChain{}, nil
	} else if err != nil {
		return nil, fmt.Errorf("read due record %s: %w", name, err)
	}
	var e chainEntity
	if err := json.Unmarshal(resp.Value, &e); err != nil {
		return nil, fmt.Errorf("decode due record %s: %w", name, err)
	}
	return &arrops.FollowUpChain{Gen: e.Gen, DueAt: readTime(e.DueAt), Nudges: e.Nudges,
		UpdatedAt: readTime(e.UpdatedAt), ETag: string(resp.ETag)}, nil
}

// DeleteDueMark removes the claim record called name if it is still as read
// (c.ETag), else returns ErrConcurrentUpdate; one already gone is no error.
func (s *Store) DeleteDueMark(ctx context.Context, name string, c *arrops.FollowUpChain) error {
	if c.ETag == "" {
		return nil // never written
	}
	match := azcore.ETag(c.ETag)
	_, err := s.sessions.DeleteEntity(ctx, duePartition, name, &aztables.DeleteEntityOptions{IfMatch: &match})
	switch {
	case err == nil || isNotFound(err):
		return nil
	case isPrecondition(err):
		return fmt.Errorf("delete due record %s: %w", name, ErrConcurrentUpdate)
	}
	return fmt.Errorf("delete due record %s: %w", name, err)
}

// SaveDueMark writes the claim record called name if it is still as read
// (c.ETag; empty inserts), else returns ErrConcurrentUpdate.
func (s *Store) SaveDueMark(ctx context.Context, name string, c *arrops.FollowUpChain) error {
	e := chainEntity{PartitionKey: duePartition, RowKey: name, Gen: c.Gen, GenType: edmInt64,
		Nudges: c.Nudges, NudgesType: edmInt64}
	updated := s.now().UTC()
	e.DueAt, e.DueAtType = storeTime(c.DueAt)
	e.UpdatedAt, e.UpdatedAtType = storeTime(updated)
	body, err := json.Marshal(e)
	if err != nil {
		return err
	}
	var etag azcore.ETag
	if c.ETag == "" {
		resp, err := s.sessions.AddEntity(ctx, body, nil)
		if isConflict(err) {
			return fmt.Errorf("insert due record %s: %w", name, ErrConcurrentUpdate)
		} else if err != nil {
			return fmt.Errorf("insert due record %s: %w", name, err)
		}
		etag = resp.ETag
	} else {
		match := azcore.ETag(c.ETag)
		resp, err := s.sessions.UpdateEntity(ctx, body, &aztables.UpdateEntityOptions{IfMatch: &match, UpdateMode: aztables.UpdateModeReplace})
		if isPrecondition(err) || isNotFound(err) {
			return fmt.Errorf("update due record %s: %w", name, ErrConcurrentUpdate)
		} else if err != nil {
			return fmt.Errorf("update due record %s: %w", name, err)
		}
		etag = resp.ETag
	}
	c.ETag, c.UpdatedAt = string(etag), updated
	return nil
}
