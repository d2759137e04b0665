import SignalboxCore
import Synchronization

/// A FIFO queue between tasks: producers push, one consumer takes batches.
///
/// `push` never waits; ``pushWaiting(_:)`` waits while the queue holds ``softLimit`` items or more,
/// which is how a full action queue slows the lane that feeds it instead of growing. The consumer
/// waits in ``next(max:)`` until items arrive or the queue is closed and drained.
package final class WorkQueue<Element: Sendable>: Sendable {
    private struct State {
        var items: [Element] = []
        var head = 0
        var closed = false
        var consumer: CheckedContinuation<Void, Never>?
        var producers: [CheckedContinuation<Void, Never>] = []

        var count: Int { items.count - head }
    }

    private let state = Mutex(State())
    /// Producers using ``pushWaiting(_:)`` wait while this many items are queued.
    package let softLimit: Int

    /// An empty queue.
    package init(softLimit: Int = .max) {
        self.softLimit = softLimit
    }

    /// The number of queued items.
    package var count: Int { state.withLock { $0.count } }

    /// Appends `items`; returns false (and drops nothing already queued) when the queue is closed.
    @discardableResult
    package func push(_ items: some Collection<Element>) -> Bool {
        guard !items.isEmpty else { return true }
        let consumer = state.withLock { state -> CheckedContinuation<Void, Never>?? in
            guard !state.closed else { return .none }
            state.items.append(contentsOf: items)
            defer { state.consumer = nil }
            return .some(state.consumer)
        }
        guard let consumer else { return false }
        consumer?.resume()
        return true
    }

    /// Appends one item.
    @discardableResult
    package func push(_ item: Element) -> Bool { push(CollectionOfOne(item)) }

    /// Appends `items` after waiting, if needed, until fewer than ``softLimit`` are queued.
    package func pushWaiting(_ items: some Collection<Element>) async -> Bool {
        while true {
            let full = state.withLock { $0.count >= softLimit && !$0.closed }
            if !full { return push(items) }
            await withCheckedContinuation { continuation in
                let resumeNow = state.withLock { state -> Bool in
                    if state.count < softLimit || state.closed { return true }
                    state.producers.append(continuation)
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        }
    }

    /// Takes up to `max` items, waiting until there is at least one; nil when the queue is closed
    /// and empty. One consumer at a time.
    package func next(max: Int) async -> [Element]? {
        while true {
            let taken = state.withLock { state -> (batch: [Element]?, producers: [CheckedContinuation<Void, Never>])? in
                let available = state.count
                if available == 0 { return state.closed ? (nil, []) : nil }
                let n = Swift.min(max, available)
                let batch = Array(state.items[state.head..<(state.head + n)])
                state.head += n
                if state.head == state.items.count {
                    state.items.removeAll(keepingCapacity: true)
                    state.head = 0
                } else if state.head > 4096 && state.head * 2 > state.items.count {
                    state.items.removeFirst(state.head)
                    state.head = 0
                }
                var producers: [CheckedContinuation<Void, Never>] = []
                if !state.producers.isEmpty && state.count < softLimit { swap(&producers, &state.producers) }
                return (batch, producers)
            }
            if let taken {
                for producer in taken.producers { producer.resume() }
                return taken.batch
            }
            await withCheckedContinuation { continuation in
                let resumeNow = state.withLock { state -> Bool in
                    if state.count > 0 || state.closed { return true }
                    state.consumer = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        }
    }

    /// Closes the queue: pushes are refused; the consumer drains what is queued, then gets nil.
    package func close() {
        let (consumer, producers) = state.withLock { state in
            state.closed = true
            defer {
                state.consumer = nil
                state.producers = []
            }
            return (state.consumer, state.producers)
        }
        consumer?.resume()
        for producer in producers { producer.resume() }
    }
}
