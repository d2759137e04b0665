import SignalboxCore
import Synchronization

/// Wakes long-polling readers when the shadow change log grows.
///
/// Writers call ``advance(to:)`` after each commit; readers call ``wait(beyond:timeout:)``, which
/// returns as soon as the log holds a change after the given sequence, or when the time is up.
package final class ChangeSignal: Sendable {
    private struct State {
        var sequence: Int64
        /// Each waiter with the sequence it waits to see passed.
        var waiters: [UInt64: (beyond: Int64, continuation: CheckedContinuation<Void, Never>)] = [:]
        var nextID: UInt64 = 0
        /// Waiters whose timeout or cancellation came before they registered.
        var expired: Set<UInt64> = []
    }

    private let state: Mutex<State>

    /// Creates a signal whose log currently ends at `sequence`.
    package init(sequence: Int64 = 0) {
        state = Mutex(State(sequence: sequence))
    }

    /// The newest sequence announced.
    package var sequence: Int64 { state.withLock { $0.sequence } }

    /// Announces that the log now ends at `sequence`, waking every waiter it has moved beyond.
    package func advance(to sequence: Int64) {
        let woken = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            guard sequence > state.sequence else { return [] }
            state.sequence = sequence
            var woken: [CheckedContinuation<Void, Never>] = []
            for (id, waiter) in state.waiters where waiter.beyond < sequence {
                state.waiters[id] = nil
                woken.append(waiter.continuation)
            }
            return woken
        }
        for continuation in woken { continuation.resume() }
    }

    /// Waits until the log ends after `sequence`, `timeout` passes, or the task is cancelled.
    package func wait(beyond sequence: Int64, timeout: Duration) async {
        let id = state.withLock { state -> UInt64 in
            state.nextID += 1
            return state.nextID
        }
        // Lifetime: at most `timeout`; cancelled by the `defer` below when the wait ends first.
        let timer = Task { [weak self] in
            do { try await Task.sleep(for: timeout) } catch { return }  // cancelled: the wait is over
            self?.resume(id)
        }
        defer {
            timer.cancel()
            _ = state.withLock { $0.expired.remove(id) }
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let ready = state.withLock { state -> Bool in
                    if state.sequence > sequence || state.expired.contains(id) { return true }
                    state.waiters[id] = (sequence, continuation)
                    return false
                }
                if ready { continuation.resume() }
            }
        } onCancel: {
            resume(id)
        }
    }

    private func resume(_ id: UInt64) {
        let continuation = state.withLock { state in
            guard let waiter = state.waiters.removeValue(forKey: id) else {
                state.expired.insert(id)
                return CheckedContinuation<Void, Never>?.none
            }
            return waiter.continuation
        }
        continuation?.resume()
    }
}
