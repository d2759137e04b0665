import SignalboxCore
import Synchronization

/// Mutual exclusion across suspension points: one ``run(_:)`` body at a time, the others waiting
/// in arrival order. For work that awaits storage and must not interleave (saving throttle windows
/// and deleting them).
final class AsyncLock: Sendable {
    private struct State {
        var held = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    /// An unlocked lock.
    init() {}

    /// Runs `body` once no other body runs.
    func run<T: Sendable>(_ body: () async throws -> T) async rethrows -> T {
        await acquire()
        defer { release() }
        return try await body()
    }

    private func acquire() async {
        await withCheckedContinuation { continuation in
            let now = state.withLock { state -> Bool in
                guard state.held else {
                    state.held = true
                    return true
                }
                state.waiters.append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
    }

    private func release() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard !state.waiters.isEmpty else {
                state.held = false
                return nil
            }
            // The lock passes to the next waiter without being released.
            return state.waiters.removeFirst()
        }
        next?.resume()
    }
}
