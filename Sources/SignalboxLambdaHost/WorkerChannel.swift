import Synchronization

/// The meeting point of the host and one worker's runtime client: the host submits an invocation and
/// waits for its outcome; the runtime client long-polls `next`, then posts the response or the error.
///
/// A worker runs one invocation at a time, as in Lambda. Once closed, every waiter is released: the
/// host with the failure, the runtime client's poll with nothing. Every method may be called from any
/// thread (the process's termination handler closes it).
package final class WorkerChannel: Sendable {
    private struct State {
        var submitted: LambdaInvocation?
        var taken: LambdaInvocation?
        var outcome: CheckedContinuation<InvocationOutcome, any Error>?
        var poller: CheckedContinuation<LambdaInvocation?, Never>?
        var closedBy: WorkerFailure?
        var firstPoll: ContinuousClock.Instant?
        var pollWaiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    /// A channel with nothing submitted.
    package init() {}

    /// Hands `invocation` to the runtime client and waits for what it posts.
    ///
    /// - Throws: the ``WorkerFailure`` the channel is closed with, before or while it waits.
    package func submit(_ invocation: LambdaInvocation) async throws -> InvocationOutcome {
        try await withCheckedThrowingContinuation { continuation in
            state.withLock { state in
                if let closedBy = state.closedBy { return continuation.resume(throwing: closedBy) }
                precondition(state.outcome == nil, "a worker runs one invocation at a time")
                state.outcome = continuation
                if let poller = state.poller {
                    state.poller = nil
                    state.taken = invocation
                    poller.resume(returning: invocation)
                } else {
                    state.submitted = invocation
                }
            }
        }
    }

    /// `GET /runtime/invocation/next`: the next invocation, once there is one; nil once closed.
    package func next() async -> LambdaInvocation? {
        await withCheckedContinuation { continuation in
            let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
                guard state.firstPoll == nil else { return [] }
                state.firstPoll = .now
                defer { state.pollWaiters = [] }
                return state.pollWaiters
            }
            for waiter in waiters { waiter.resume() }
            state.withLock { state in
                if state.closedBy != nil { return continuation.resume(returning: nil) }
                if let invocation = state.submitted {
                    state.submitted = nil
                    state.taken = invocation
                    return continuation.resume(returning: invocation)
                }
                // A second poll while one waits (a client that retried) replaces it: the first gets nothing.
                state.poller?.resume(returning: nil)
                state.poller = continuation
            }
        }
    }

    /// `POST /runtime/invocation/{id}/response`: false when `requestID` is not the invocation taken.
    package func respond(_ requestID: String, body: [UInt8]) -> Bool {
        finish(requestID, with: .response(body))
    }

    /// `POST /runtime/invocation/{id}/error`: false when `requestID` is not the invocation taken.
    package func fail(_ requestID: String, document: [UInt8], errorType: String?) -> Bool {
        finish(requestID, with: .functionError(document: document, errorType: errorType))
    }

    /// Closes the channel with `failure` only if an invocation is waiting for its outcome; whether it
    /// did. A deadline that passes as the response arrives then leaves the response, and the worker.
    package func expire(_ failure: WorkerFailure) -> Bool {
        shut(failure, onlyIfWaiting: true)
    }

    /// Fails the invocation in progress (or submitted) with `failure` and releases the poll; later
    /// calls find the channel closed. The first failure stays.
    package func close(_ failure: WorkerFailure) {
        _ = shut(failure, onlyIfWaiting: false)
    }

    private func shut(_ failure: WorkerFailure, onlyIfWaiting: Bool) -> Bool {
        typealias Released = (
            outcome: CheckedContinuation<InvocationOutcome, any Error>?,
            poller: CheckedContinuation<LambdaInvocation?, Never>?, reason: WorkerFailure,
            waiters: [CheckedContinuation<Void, Never>]
        )
        let released: Released? = state.withLock { state in
            if onlyIfWaiting && (state.outcome == nil || state.closedBy != nil) { return nil }
            if state.closedBy == nil { state.closedBy = failure }
            defer {
                state.submitted = nil
                state.taken = nil
                state.outcome = nil
                state.poller = nil
                state.pollWaiters = []
            }
            return (state.outcome, state.poller, state.closedBy ?? failure, state.pollWaiters)
        }
        guard let released else { return false }
        released.outcome?.resume(throwing: released.reason)
        released.poller?.resume(returning: nil)
        for waiter in released.waiters { waiter.resume() }
        return true
    }

    /// Returns once the runtime client has asked for an invocation (its init is over) or the channel is
    /// closed.
    package func untilPolled() async {
        await withCheckedContinuation { waiter in
            let ready = state.withLock { state in
                if state.firstPoll != nil || state.closedBy != nil { return true }
                state.pollWaiters.append(waiter)
                return false
            }
            if ready { waiter.resume() }
        }
    }

    /// When the runtime client first asked for an invocation: the end of its init.
    package var firstPoll: ContinuousClock.Instant? { state.withLock { $0.firstPoll } }

    /// Whether the channel is closed.
    package var isClosed: Bool { state.withLock { $0.closedBy != nil } }

    private func finish(_ requestID: String, with result: InvocationOutcome) -> Bool {
        let outcome: CheckedContinuation<InvocationOutcome, any Error>? = state.withLock { state in
            guard state.taken?.requestID == requestID, let outcome = state.outcome else { return nil }
            state.taken = nil
            state.outcome = nil
            return outcome
        }
        outcome?.resume(returning: result)
        return outcome != nil
    }
}
