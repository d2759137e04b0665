import Synchronization

/// One attempt of an invocation, bounded by its deadline: how the runtime runs every attempt, and
/// how `HandlerHarness` runs them in tests, so a handler's timeout behaves the same in both.
package enum Attempt {
    /// Runs `body`, giving up at `deadline`: the body is cancelled and left to end on its own. A body
    /// failing once the deadline has passed (its own deadline, such as an HTTP client's, fired
    /// first) has timed out too.
    package static func run(
        before deadline: ContinuousClock.Instant, timeout: Duration, _ body: @escaping @Sendable () async throws -> Void
    ) async throws {
        let state = RaceState()
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            // Lifetime of both: the attempt. The timer ends at the deadline or is cancelled when the
            // work finishes; the work is cancelled at the deadline and left to end on its own.
            let work = Task {
                let result: Result<Void, any Error>
                do {
                    try await body()
                    result = .success(())
                } catch {
                    let late = ContinuousClock.now >= deadline && !(error is PermanentHandlerError)
                    result = .failure(late ? ActionTimeout(timeout: timeout) : error)
                }
                let (first, timer) = state.value.withLock { state in
                    defer { state.done = true }
                    return (!state.done, state.timer)
                }
                timer?.cancel()
                if first { continuation.resume(with: result) }
            }
            let timer = Task {
                try? await Task.sleep(until: deadline, clock: .continuous)
                guard !Task.isCancelled else { return }
                let first = state.value.withLock { state in
                    defer { state.done = true }
                    return !state.done
                }
                if first {
                    work.cancel()
                    continuation.resume(throwing: ActionTimeout(timeout: timeout))
                }
            }
            let finished = state.value.withLock { state in
                state.timer = timer
                return state.done
            }
            if finished { timer.cancel() }
        }
    }
}

/// Why an attempt did not finish in time.
package struct ActionTimeout: Error, CustomStringConvertible {
    package let timeout: Duration
    package var description: String {
        "the action did not finish within its timeout of \(DurationSyntax.format(timeout))"
    }
}

/// Which of a body and its timer finished first, and the timer to cancel.
private final class RaceState: Sendable {
    let value = Mutex<(done: Bool, timer: Task<Void, Never>?)>((false, nil))
}
