// Package storage is Qun's Badger store: the append-only log of every group a node
// holds, the latest state snapshot of each group, the event and submission indexes,
// small per-group metadata and light-client read cursors.
//
// It is bytes in, bytes out: it knows neither libp2p nor the protocol. Events are
// stored verbatim (principle "sign bytes, keep bytes"); the caller computes event IDs,
// submission IDs and snapshots.
//
// # Durability and group commit
//
// Commit returns only after its data is fsynced ("acknowledged means durable"). All
// writes (Commit, SetMeta, SetCursor, DeleteGroup) go through one committer goroutine.
// It takes one queued call, then every call that queued up meanwhile (while the previous
// fsync ran), checks each call against the stored state plus the calls before it in the
// same round, and writes the accepted calls as ONE Badger transaction followed by ONE
// fsync (DB.Sync; Badger's SyncWrites is off). A call that fails its checks (ErrGap,
// ErrDuplicate, ...) is left out whole and does not affect the others. Badger's own
// SyncWrites batching is not enough: it syncs the memtable WAL once per transaction
// (db.writeToLSM), so N concurrent transactions still cost N fsyncs; it also could not
// check seq continuity across concurrent callers. One round stays below MaxCommitBytes;
// calls that do not fit wait for the next round. If a write or an fsync fails, the
// on-disk state is uncertain, so the store refuses every later write (fail-stop).
//
// # Damage and the head witness
//
// Badger truncates a memtable write-ahead log silently at its first damaged entry, and a
// table block whose checksum fails hides its keys. So that neither loses acknowledged events
// unnoticed, the committer keeps a head witness outside Badger (WitnessFile in the store
// folder, format in witness.go): after each merged write, one append with the new head seq
// and head event ID of every group that grew (no fsync: it survives a SIGKILL; after a power
// loss it may lag, which never reports false damage). Open compares each group with it and
// lists in Damage every group whose stored head is below the witness, whose event at the
// witness seq has another ID, or whose tail cannot be read; an unreadable or missing witness
// is damage of every group. Open does not fail on damage; the caller decides. Commits that
// bring the head back to the witness (events recovered from replicas) clear the entry;
// ClearDamage accepts a log as it is; DeleteGroup forgets the group. Badger checks every
// table block's checksum when it reads it (ChecksumVerificationMode OnBlockRead), so a
// damaged block is never served: a read that needs it fails with ErrCorrupt naming the group
// and seq (logged once per group).
//
// # Full disk
//
// Badger writes its memtable logs and new tables through memory maps. Upstream ristretto
// (z.OpenMmapFile) makes those files sparse, so a full disk killed the process with SIGBUS,
// at once and again on restart, also from Badger's background flushes. The module replaces
// ristretto by a patched copy (storage/third_party/ristretto, see QUN-PATCH.md there) that
// allocates the files with fallocate: a full disk is then an ENOSPC error that Badger
// retries. The store reserves the next memtable log ahead of time (a memtable that cannot
// be created is fatal inside Badger). Each merged write first measures the free space
// (statfs) and is refused with ErrStorageFull below MinFree (default 64 MiB, at least 36
// MiB; WithSpaceReserve), and a background goroutine measures it too (every second; every
// 20 ms when low, 5 ms when full). A fallocated ballast file
// (BallastFile, default 64 MiB) is released when less than ReleaseBelow is left, so that
// Badger can finish its flushes and compactions, and before Badger opens on a full disk; it
// is re-created, and writes accepted again, once MinFree+ballast bytes are free. Reads keep
// working while full (Full reports the state). The limits of this guard are in space.go.
//
// Close returns within CloseTimeout, and about a second after the store folder disappeared
// (Badger retries its final flush forever then), with an error.
//
// Reads never expose an event before its fsync is done: the head of each group is
// cached in memory, advanced by the committer only after the fsync, and every log read
// is capped at it. Head is loaded on first use by one reverse, key-only seek on the
// group's log prefix, so it is fast with millions of events.
//
// # Key layout
//
// Every key starts with a one-byte prefix. Prefixes and value encodings are persisted:
// never renumber, reuse or re-encode them; a change of layout needs a new schema
// version. Integers are big-endian; gid is the 32-byte group ID.
//
//	'v'                               → schema version, uint32 (currently 1)
//	'l' gid seq(8)                    → event ID(32) | submission ID(32) | event bytes
//	'e' eventID(32)                   → gid(32) | seq(8)
//	's' gid submissionID(32)          → seq(8)     (absent for an all-zero submission ID)
//	'n' gid                           → snapshot seq(8) | total length(4) | bytes [0, 256 KiB)
//	'n' gid chunk(4)                  → snapshot bytes [chunk*256 KiB, (chunk+1)*256 KiB), chunk >= 1
//	'm' gid key                       → meta value (key: 1..1024 bytes)
//	'c' len(client)(1) client gid     → cursor seq(8) (client: 1..255 bytes)
//	'w'                               → 1, uint32: the store keeps a head witness file
//	'b' gid                           → base seq(8) | event ID(32): the log starts at base+1
//	                                    (a replica started from a checkpoint; absent: at 1)
//
// Keys sort by seq within a group, so ranges are prefix iterations. A new store gets the
// version key on Open; Open refuses a newer version with an error that says to upgrade,
// and refuses a non-empty Badger directory that has no version key.
//
// # Sizes and Badger options
//
// Values are kept below Badger's 1 MiB value threshold (events and meta values are at most
// 512 KiB, snapshots are cut into 256 KiB chunks), so all data lives in the LSM tree and
// the value log stays empty: no value-log garbage collection is needed, and compaction
// reclaims the space of replaced snapshots and deleted groups. The options suit a small
// machine (2 cores, little RAM):
//
//   - MemTableSize 16 MiB (default 64), NumMemtables 3 (default 5): at most ~64 MiB of
//     memtables, so that what Badger still writes after writes are refused on a full disk
//     fits into MinFree plus the ballast. One transaction may hold 15% of a memtable, hence
//     MaxCommitBytes = 2 MiB.
//   - BlockCacheSize 32 MiB (default 256), IndexCacheSize 16 MiB (default: unbounded, all
//     table indexes in memory).
//   - NumCompactors 2 (default 4), NumGoroutines 2, ValueLogFileSize 1 MiB (the value log
//     stays empty; each file is allocated in full, 2 x 1 MiB).
//   - Disk: each memtable log is allocated in full (2 x MemTableSize = 32 MiB), plus the
//     reserved next one, plus the ballast.
//   - ChecksumVerificationMode OnBlockRead, VerifyValueChecksum on.
//   - DetectConflicts off (the committer is the only writer), metrics off, Snappy
//     compression (default).
//   - Badger's log goes to the slog logger at Debug level (its errors at Error level).
//
// # Errors
//
// Errors wrap the sentinels ErrNotFound, ErrGap, ErrDuplicate, ErrClosed, ErrInvalid,
// ErrTooLarge, ErrCorrupt and ErrStorageFull; test with errors.Is.
package storage
