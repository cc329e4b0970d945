// Package replica keeps objects on N replicas (files or block devices) in
// relaxed lockstep, and never loses a committed write: a Write reaches
// every replica it can through a redo journal, a Read returns the copy the
// quorum agrees on (decided by package kernel), Scan finds the objects
// whose replicas disagree and Repair catches them up, and Rebuild fills a
// new drive from the quorum.
//
// # A formatted set
//
// Create formats the replicas: each begins with a superblock (two checked
// copies in the first 8 KiB) naming the set (a random ID), the replica (its
// own random ID, its index, the replica count), the geometry (object size,
// vector offset, object count), the generation and the journal's path.
// Objects follow at DataOffset; every object keeps a 32-byte vector at the
// same offset (see package kernel). Open checks every superblock before it
// writes anything, so a replica of another set, at another index, with
// another geometry, listed twice or replaced while it was away is refused
// with an error naming the file, and the geometry can never be given wrong.
// OpenRaw opens files without superblocks, geometry given, with fewer
// checks (see it).
//
// Replicas are regular files (created at their full size) or block devices
// (the size is the device's). Every write is whole objects with pwrite(2);
// durability is fdatasync(2) (fsync(2) where there is none); the journal's
// directory is synced when it is created.
//
// # Reads
//
// Read reads one object from every voting replica, one pread each, and
// returns the quorum's bytes: the leader of the longest chain, if that chain
// holds at least Quorum replicas (a majority by default). ReadRange does
// the same for a run of objects with one pread per replica. A replica that
// is missing ("" at Open) or being rebuilt does not vote, and counts against
// the quorum.
//
// # Writes and the journal
//
// A Write is a transaction: its record (the object's new bytes, and each
// replica it writes with the vector it held) is synced to the journal
// before any replica is touched, then the replicas are written in an order
// that never lets the quorum go backwards, then synced. After a crash Open
// replays the committed record, writing an object only where it still holds
// the state the record found or already holds the new one; a record cut
// short before its commit point wrote nothing and is ignored; a committed
// record that fails its checksum, or finds a replica at a third state, is
// refused with an explanation rather than guessed at. The journal is bound
// to the set's ID and to each replica's ID, and lives at the path the
// superblocks record (beside the first replica unless Options.Journal), so
// every path that reaches the set finds it. Every writer locks every
// replica and the journal (flock(2)) before it touches any file; readers
// take shared locks.
//
// A write torn by a crash (a pwrite is not atomic: a kill can cut an object
// larger than a page, a power failure can keep some sectors and not
// others) is why the journal is there: without it a copy whose vector is
// new and whose bytes are partly old would read as the quorum's.
//
// # Scan, repair and rebuild
//
// Scan reads the set in large batches, the next batch while the current one
// is decided, and reports runs of alike objects (agreed, lagging,
// split-brain, no quorum, cyclic, conflicting, covered by a pending journal
// record, and with VerifyData, replicas that agree on the vector but not on
// the bytes). With Repair it copies each lagging object's leader over the
// replicas that lag it or stand outside its chain, through the journal,
// farthest behind first. Replace formats a new drive into the set in place
// of a missing or failing one, and Rebuild fills it from the quorum,
// resumably.
//
// # Memory
//
// Objects are at most MaxObjectSize bytes and one object of every replica
// at most MaxObjectBytes (64 MiB). A Scan keeps two batches, each 32 MiB
// across all replicas or one object of every replica if that is more, and
// streams its ranges to a callback; Rebuild keeps one such batch; ReadRange
// reads what it is asked for, up to 1 GiB a call. So memory stays bounded
// whatever the set's size and however its objects differ.
package replica
