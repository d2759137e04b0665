import SignalboxCore
import Synchronization

/// Assigns message ids, bounds how many messages (and payload bytes) are journaled but not yet
/// handled, and computes the checkpoint: the id below which every message is done.
///
/// Ids are handed out in increasing order and stay pending until ``complete(_:)``. The checkpoint
/// never passes a pending id, so after a crash every message above it is handled again.
package final class InFlightTracker: Sendable {
    /// Ids are contiguous, so the pending ones live in an array indexed by `id - base`: the
    /// payload size while pending, `done` after.
    private struct State {
        /// The next id to hand out.
        var nextID: Int64
        /// The lowest id that may still be pending; everything below is done.
        var low: Int64
        /// The id of `sizes[0]`.
        var base: Int64
        /// The payload size of every id from `base` to `nextID - 1`, or `done`.
        var sizes: [Int] = []
        var count = 0
        var bytes = 0

        static let done = -1

        mutating func add(_ size: Int) {
            sizes.append(size)
            count += 1
            bytes += size
        }
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
        let low = checkpoint + 1
        var state = State(nextID: max(lastID, checkpoint) + 1, low: low, base: low)
        let replayed = replay.filter { $0.id >= low && $0.id < state.nextID }
        // Only the span up to the last replayed id is kept; the ids after it are done.
        if let last = replayed.map(\.id).max() {
            state.sizes = Array(repeating: State.done, count: Int(last - low + 1))
            for entry in replayed where state.sizes[Int(entry.id - low)] == State.done {
                state.sizes[Int(entry.id - low)] = entry.bytes
                state.count += 1
                state.bytes += entry.bytes
            }
        }
        Self.advance(&state)
        if state.sizes.isEmpty {
            state.low = state.nextID
            state.base = state.nextID
        }
        self.state = Mutex(state)
        self.capacity = capacity
        self.byteCapacity = byteCapacity
    }

    /// Reserves ids for messages of `sizes` bytes, in order; nil when that would pass the capacity
    /// (unless `force`, for messages Signalbox itself generates).
    package func allocate(_ sizes: [Int], force: Bool = false) -> [Int64]? {
        let total = sizes.reduce(0, +)
        return state.withLock { state -> [Int64]? in
            if !force, state.count + sizes.count > capacity || state.bytes + total > byteCapacity {
                // An empty runtime always takes one batch, however large, so nothing is refused forever.
                guard state.count == 0 else { return nil }
            }
            if state.sizes.isEmpty {
                // Everything before is done: the span starts again at the next id.
                state.low = state.nextID
                state.base = state.nextID
            } else {
                // After a restart the span may end before the next id: the ids between are done.
                let gap = Int(state.nextID - state.base) - state.sizes.count
                if gap > 0 { state.sizes.append(contentsOf: repeatElement(State.done, count: gap)) }
            }
            var ids: [Int64] = []
            ids.reserveCapacity(sizes.count)
            for size in sizes {
                ids.append(state.nextID)
                state.nextID += 1
                state.add(size)
            }
            return ids
        }
    }

    /// Marks `ids` done.
    package func complete(_ ids: some Sequence<Int64>) {
        state.withLock { state in
            var lowDone = false
            for id in ids where id >= state.low && id < state.base + Int64(state.sizes.count) {
                let index = Int(id - state.base)
                let size = state.sizes[index]
                guard size != State.done else { continue }
                state.sizes[index] = State.done
                state.count -= 1
                state.bytes -= size
                if id == state.low { lowDone = true }
            }
            if lowDone { Self.advance(&state) }
        }
    }

    /// Marks one id done.
    package func complete(_ id: Int64) { complete(CollectionOfOne(id)) }

    /// Moves `low` past the done ids and drops them from the front of `sizes` once they are many.
    private static func advance(_ state: inout State) {
        let end = state.base + Int64(state.sizes.count)
        while state.low < end, state.sizes[Int(state.low - state.base)] == State.done { state.low += 1 }
        if state.low == end {
            state.low = state.nextID
            state.base = state.nextID
            state.sizes.removeAll(keepingCapacity: true)
        } else if state.low - state.base > 4096, Int(state.low - state.base) * 2 > state.sizes.count {
            state.sizes.removeFirst(Int(state.low - state.base))
            state.base = state.low
        }
    }

    /// Whether ``allocate(_:force:)`` would refuse any message now.
    package var isFull: Bool {
        state.withLock { $0.count > 0 && ($0.count >= capacity || $0.bytes >= byteCapacity) }
    }

    /// Every message with an id ≤ this is done.
    package var checkpoint: Int64 { state.withLock { $0.low - 1 } }

    /// Pending messages and their payload bytes.
    package var inFlight: (count: Int, bytes: Int) { state.withLock { ($0.count, $0.bytes) } }
}
