import Synchronization

/// Assigns message ids, bounds how many messages (and payload bytes) are journaled but not yet
/// handled, and computes the checkpoint: the id below which every message is done.
///
/// Ids are handed out in increasing order and stay pending until ``complete(_:)``. The checkpoint
/// never passes a pending id, so after a crash every message above it is handled again.
package final class InFlightTracker: Sendable {
    private struct State {
        /// The next id to hand out.
        var nextID: Int64
        /// The lowest id that may still be pending; everything below is done.
        var low: Int64
        /// Pending ids with their payload sizes.
        var pending: [Int64: Int] = [:]
        var bytes = 0
    }

    private let state: Mutex<State>
    /// The most pending messages.
    package let capacity: Int
    /// The most pending payload bytes.
    package let byteCapacity: Int

    /// A tracker whose next id follows `lastID`, with every id up to `checkpoint` done and the ids
    /// of `replay` (all above `checkpoint`, at most `lastID`) pending; ids between them that are not
    /// in `replay` count as done (they were never journaled).
    package init(
        checkpoint: Int64, lastID: Int64, replay: [(id: Int64, bytes: Int)] = [], capacity: Int, byteCapacity: Int
    ) {
        var state = State(nextID: max(lastID, checkpoint) + 1, low: checkpoint + 1)
        for entry in replay {
            state.pending[entry.id] = entry.bytes
            state.bytes += entry.bytes
        }
        Self.advance(&state)
        self.state = Mutex(state)
        self.capacity = capacity
        self.byteCapacity = byteCapacity
    }

    /// Reserves ids for messages of `sizes` bytes, in order; nil when that would pass the capacity
    /// (unless `force`, for messages Signalbox itself generates).
    package func allocate(_ sizes: [Int], force: Bool = false) -> [Int64]? {
        let total = sizes.reduce(0, +)
        return state.withLock { state -> [Int64]? in
            if !force, state.pending.count + sizes.count > capacity || state.bytes + total > byteCapacity {
                // An empty runtime always takes one batch, however large, so nothing is refused forever.
                guard state.pending.isEmpty else { return nil }
            }
            var ids: [Int64] = []
            ids.reserveCapacity(sizes.count)
            for size in sizes {
                let id = state.nextID
                state.nextID += 1
                state.pending[id] = size
                ids.append(id)
            }
            state.bytes += total
            return ids
        }
    }

    /// Marks `ids` done.
    package func complete(_ ids: some Sequence<Int64>) {
        state.withLock { state in
            var lowDone = false
            for id in ids {
                if let size = state.pending.removeValue(forKey: id) { state.bytes -= size }
                if id == state.low { lowDone = true }
            }
            if lowDone { Self.advance(&state) }
        }
    }

    /// Marks one id done.
    package func complete(_ id: Int64) { complete(CollectionOfOne(id)) }

    private static func advance(_ state: inout State) {
        while state.low < state.nextID, state.pending[state.low] == nil { state.low += 1 }
    }

    /// Every message with an id ≤ this is done.
    package var checkpoint: Int64 { state.withLock { $0.low - 1 } }

    /// Pending messages and their payload bytes.
    package var inFlight: (count: Int, bytes: Int) { state.withLock { ($0.pending.count, $0.bytes) } }
}
