package main

import (
	"fmt"
	"sort"
	"sync"
	"time"
)

// What the members of a group own and have read, seen from one process: a
// partition handed to a member while another still owns it is an overlap.
type groupTracker struct {
	mu       sync.Mutex
	owned    map[int]map[int32]bool
	overlaps []string
	seen     map[string]bool
}

func newGroupTracker() *groupTracker {
	return &groupTracker{owned: map[int]map[int32]bool{}, seen: map[string]bool{}}
}

func (t *groupTracker) join(member int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.owned[member] = map[int32]bool{}
}

// leave forgets a member once its client is closed (whatever it revoked).
func (t *groupTracker) leave(member int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.owned, member)
}

func (t *groupTracker) assigned(member int, partitions []int32) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, p := range partitions {
		for other, set := range t.owned {
			if other != member && set[p] {
				t.overlaps = append(t.overlaps,
					fmt.Sprintf("partition %d given to member %d while member %d owns it", p, member, other))
			}
		}
		t.owned[member][p] = true
	}
}

func (t *groupTracker) revoked(member int, partitions []int32) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, p := range partitions {
		delete(t.owned[member], p)
	}
}

func (t *groupTracker) consumed(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.seen[key] = true
}

// waitOwned waits until every member owns at least one partition, every
// partition is owned by exactly one member, the shares differ by one at most
// (every assignor balances) and nothing changed for a while (a member may
// still be about to revoke); it answers how many each owns.
func (t *groupTracker) waitOwned(partitions int) ([]int, error) {
	end := time.Now().Add(deadline)
	var settled string
	var since time.Time
	for {
		t.mu.Lock()
		counts, ok := []int{}, true
		owners := map[int32]int{}
		least, most := partitions, 0
		for _, set := range t.owned {
			counts = append(counts, len(set))
			least, most = min(least, len(set)), max(most, len(set))
			for p := range set {
				owners[p]++
			}
		}
		for p := int32(0); p < int32(partitions); p++ {
			ok = ok && owners[p] == 1
		}
		ok = ok && len(owners) == partitions && least > 0 && most-least <= 1
		state := fmt.Sprint(t.owned)
		t.mu.Unlock()
		if !ok || state != settled {
			settled, since = state, time.Now()
		} else if time.Since(since) > 300*time.Millisecond {
			sort.Ints(counts)
			return counts, nil
		}
		if time.Now().After(end) {
			return nil, fmt.Errorf("partitions not owned once each in time: %s", state)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitSeen waits until `count` distinct records were read.
func (t *groupTracker) waitSeen(count int) (int, error) {
	end := time.Now().Add(deadline)
	for {
		t.mu.Lock()
		n := len(t.seen)
		t.mu.Unlock()
		if n >= count {
			return n, nil
		}
		if time.Now().After(end) {
			return n, fmt.Errorf("read %d distinct records of %d in time", n, count)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The group scenario, the same for every client: `start` and `stop` run one
// member, `produce` writes ten records to each partition with keys of the round.
type groupMembers struct {
	start   func(member int) error
	stop    func(member int) error
	produce func(round int) error
	// committed answers the group's committed offsets by partition.
	committed func() (map[int32]int64, error)
}

func groupKey(round int, partition int32, i int) string {
	return fmt.Sprintf("r%d-p%d-%d", round, partition, i)
}

func runGroup(t *groupTracker, g groupMembers, partitions int) error {
	if err := g.produce(0); err != nil {
		return err
	}
	for m := 0; m < 3; m++ {
		if err := g.start(m); err != nil {
			return err
		}
	}
	counts, err := t.waitOwned(partitions)
	if err != nil {
		return err
	}
	say("owners %d: %s", len(counts), joinInts(counts))
	n, err := t.waitSeen(10 * partitions)
	if err != nil {
		return err
	}
	say("read %d", n)
	if err := g.stop(2); err != nil {
		return err
	}
	counts, err = t.waitOwned(partitions)
	if err != nil {
		return err
	}
	say("owners %d: %s", len(counts), joinInts(counts))
	if err := g.produce(1); err != nil {
		return err
	}
	if n, err = t.waitSeen(20 * partitions); err != nil {
		return err
	}
	say("read %d", n)
	for m := 0; m < 2; m++ {
		if err := g.stop(m); err != nil {
			return err
		}
	}
	offsets, err := g.committed()
	if err != nil {
		return err
	}
	line := "committed"
	for p := int32(0); p < int32(partitions); p++ {
		line += fmt.Sprintf(" %d:%d", p, offsets[p])
	}
	say("%s", line)
	say("overlaps %d", len(t.overlaps))
	for _, o := range t.overlaps {
		say("  %s", o)
	}
	return nil
}
