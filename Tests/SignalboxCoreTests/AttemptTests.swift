import SignalboxCore
import Synchronization
import Testing

@Suite("an attempt: its body, its deadline and its caller")
struct AttemptTests {
    @Test("the body's result when it finishes first")
    func bodyFirst() async throws {
        try await Attempt.run(before: .now + .seconds(30), timeout: .seconds(30)) {}
        await #expect(throws: PermanentHandlerError.self) {
            try await Attempt.run(before: .now + .seconds(30), timeout: .seconds(30)) {
                throw PermanentHandlerError("no")
            }
        }
    }

    @Test("at the deadline: a timeout, and the body is cancelled")
    func deadline() async throws {
        let bodyCancelled = Atomic<Bool>(false)
        await #expect(throws: ActionTimeout.self) {
            try await Attempt.run(before: .now + .milliseconds(50), timeout: .milliseconds(50)) {
                do { try await Task.sleep(for: .seconds(60)) } catch { bodyCancelled.store(true, ordering: .relaxed) }
            }
        }
        #expect(await eventually { bodyCancelled.load(ordering: .relaxed) })
    }

    @Test("when its caller is cancelled: it ends at once, and the body is cancelled")
    func callerCancelled() async throws {
        let bodyCancelled = Atomic<Bool>(false)
        let caller = Task {
            try await Attempt.run(before: .now + .seconds(60), timeout: .seconds(60)) {
                do { try await Task.sleep(for: .seconds(60)) } catch { bodyCancelled.store(true, ordering: .relaxed) }
            }
        }
        try await Task.sleep(for: .milliseconds(50))
        caller.cancel()
        await #expect(throws: CancellationError.self) { try await caller.value }
        #expect(await eventually { bodyCancelled.load(ordering: .relaxed) })
    }

    @Test("a caller cancelled before it starts never runs long")
    func cancelledBefore() async throws {
        let caller = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            try await Attempt.run(before: .now + .seconds(60), timeout: .seconds(60)) {
                try await Task.sleep(for: .seconds(60))
            }
        }
        await #expect(throws: CancellationError.self) { try await caller.value }
    }

    private func eventually(_ condition: () -> Bool) async -> Bool {
        for _ in 0..<500 {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return condition()
    }
}
