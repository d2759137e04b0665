import Foundation
import Logging
import MetricsTestKit
import SignalboxJSON
import Testing

@testable import SignalboxLambdaHost

/// The workers of one function: on demand, reused, bounded, stopped when idle, replaced when broken.
@Suite(.serialized, .timeLimit(.minutes(5)))
struct FunctionPoolTests {
    /// Runs `body` with a running pool of the custom-runtime fixture, then stops it.
    static func withPool(
        _ limits: FunctionPool.Limits, codeDirectory: String? = nil, metrics: TestMetrics = TestMetrics(),
        _ body: (FunctionPool) async throws -> Void
    ) async throws {
        var configuration = WorkerTests.custom()
        if let codeDirectory { configuration.codeDirectory = codeDirectory }
        let pool = FunctionPool(configuration, limits: limits, logger: WorkerTests.logger, metrics: metrics)
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { await pool.run() }
            defer { pool.stop() }
            try await body(pool)
        }
    }

    static func echo(_ pool: FunctionPool, _ event: String) async throws -> Value {
        try WorkerTests.json(try await pool.invoke(WorkerTests.invocation(event), timeout: .seconds(20)))
    }

    @Test func atMostTheConcurrencyLimitRunsAndTheRestWait() async throws {
        try await Self.withPool(FunctionPool.Limits(concurrency: 2)) { pool in
            let started = ContinuousClock.now
            let replies = try await withThrowingTaskGroup(of: Value.self) { group in
                for n in 1...8 { group.addTask { try await Self.echo(pool, #"{"echo": \#(n), "sleep": 0.3}"#) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(Set(replies.compactMap { $0["echo"] }) == Set((1...8).map { Value.int(Int64($0)) }))
            #expect(pool.counters.peakWorkers == 2)
            #expect(pool.counters.coldStarts == 2)
            // Eight of 0.3 s, two at a time.
            #expect(ContinuousClock.now - started >= .milliseconds(1200))
        }
    }

    @Test func anIdleWorkerStopsAndTheNextInvocationStartsOne() async throws {
        try await Self.withPool(FunctionPool.Limits(concurrency: 1, idleTimeout: .seconds(1))) { pool in
            #expect(try await Self.echo(pool, #"{"echo": 1}"#)["echo"] == 1)
            #expect(try await Self.echo(pool, #"{"echo": 2}"#)["echo"] == 2)
            #expect(pool.counters.coldStarts == 1, "warm: the same worker")
            for _ in 0..<100 where pool.counters.workers > 0 { try await Task.sleep(for: .milliseconds(50)) }
            #expect(pool.counters.workers == 0, "scaled to zero")
            #expect(try await Self.echo(pool, #"{"echo": 3}"#)["echo"] == 3)
            #expect(pool.counters.coldStarts == 2)
            // The function's log: three invocations, two of them cold starts.
            #expect(pool.log.components(separatedBy: "START RequestId: ").count - 1 == 3)
            #expect(pool.log.components(separatedBy: "\tInit Duration: ").count - 1 == 2)
        }
    }

    @Test func aBrokenWorkerIsReplaced() async throws {
        try await Self.withPool(FunctionPool.Limits(concurrency: 1)) { pool in
            await #expect(throws: WorkerFailure.exited(status: 1, signalled: false)) {
                try await Self.echo(pool, #"{"exit": 1}"#)
            }
            await #expect(throws: WorkerFailure.timedOut(seconds: 0.5)) {
                try await pool.invoke(WorkerTests.invocation(#"{"sleep": 10}"#), timeout: .milliseconds(500))
            }
            let again = try await Self.echo(pool, #"{"echo": "again"}"#)
            #expect(again["echo"] == "again")
            #expect(pool.counters.coldStarts == 3)
        }
    }

    @Test func aWorkerThatDiesWhileIdleDoesNotTakeTheNextInvocation() async throws {
        try await Self.withPool(FunctionPool.Limits(concurrency: 1)) { pool in
            #expect(try await Self.echo(pool, #"{"echo": 1, "exitAfter": 0.1}"#)["echo"] == 1)
            try await Task.sleep(for: .milliseconds(600))  // it has exited by now, idle
            #expect(try await Self.echo(pool, #"{"echo": 2}"#)["echo"] == 2)
            #expect(pool.counters.coldStarts == 2)
        }
    }

    @Test func aZeroIdleTimeoutStopsEachWorkerAfterItsInvocation() async throws {
        try await Self.withPool(FunctionPool.Limits(concurrency: 1, idleTimeout: .zero)) { pool in
            for n in 1...3 { #expect(try await Self.echo(pool, #"{"echo": \#(n)}"#)["echo"] == .int(Int64(n))) }
            for _ in 0..<200 where pool.counters.workers > 0 { try await Task.sleep(for: .milliseconds(10)) }
            #expect(pool.counters.workers == 0)
        }
    }

    @Test func pastTheQueueInvocationsAreRefusedAtOnce() async throws {
        try await Self.withPool(FunctionPool.Limits(concurrency: 1, maxQueued: 1)) { pool in
            async let running = Self.echo(pool, #"{"echo": 1, "sleep": 1}"#)
            // Until the worker has taken it.
            for _ in 0..<500 where pool.counters.workers == 0 || pool.counters.queued > 0 {
                try await Task.sleep(for: .milliseconds(10))
            }
            async let waiting = Self.echo(pool, #"{"echo": 2}"#)
            for _ in 0..<100 where pool.counters.queued == 0 { try await Task.sleep(for: .milliseconds(10)) }
            await #expect(throws: PoolRefusal.throttled) { try await Self.echo(pool, #"{"echo": 3}"#) }
            #expect(pool.counters.throttled == 1)
            #expect(try await running["echo"] == 1)
            #expect(try await waiting["echo"] == 2)
        }
    }

    @Test func aFunctionThatCannotStartFailsItsInvocationOnce() async throws {
        let nowhere = FileManager.default.temporaryDirectory.appendingPathComponent("no-bundle-\(UUID())").path
        try await Self.withPool(FunctionPool.Limits(concurrency: 2), codeDirectory: nowhere) { pool in
            await #expect(throws: WorkerFailure.self) { try await Self.echo(pool, "{}") }
            await #expect(throws: WorkerFailure.self) { try await Self.echo(pool, "{}") }
            #expect(pool.counters.coldStarts == 2)
            #expect(pool.counters.workers == 0)
        }
    }

    @Test func aStoppedPoolRefusesAndItsWorkersEnd() async throws {
        let pool = FunctionPool(
            WorkerTests.custom(), limits: FunctionPool.Limits(concurrency: 1), logger: WorkerTests.logger)
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { await pool.run() }
            let reply = try await Self.echo(pool, #"{"echo": 1}"#)
            #expect(reply["echo"] == 1)
            pool.stop()
        }
        #expect(pool.counters.workers == 0)
        await #expect(throws: PoolRefusal.stopped) { try await Self.echo(pool, "{}") }
    }

    @Test func invocationsErrorsThrottlesAndColdStartsAreCounted() async throws {
        let metrics = TestMetrics()
        try await Self.withPool(FunctionPool.Limits(concurrency: 1, maxQueued: 0), metrics: metrics) { pool in
            _ = try await Self.echo(pool, #"{"echo": 1}"#)
            _ = try await pool.invoke(WorkerTests.invocation(#"{"raise": "no"}"#), timeout: .seconds(20))
            await #expect(throws: WorkerFailure.self) { try await Self.echo(pool, #"{"exit": 3}"#) }
            // The broken worker counts until it is cleaned up; with no queue, wait for that.
            for _ in 0..<500 where pool.counters.workers > 0 { try await Task.sleep(for: .milliseconds(10)) }
            async let busy = Self.echo(pool, #"{"echo": 2, "sleep": 0.5}"#)
            for _ in 0..<500 where pool.counters.workers == 0 || pool.counters.queued > 0 {
                try await Task.sleep(for: .milliseconds(10))
            }
            await #expect(throws: PoolRefusal.throttled) { try await Self.echo(pool, "{}") }
            _ = try await busy
        }
        let labels = [("function", "echo"), ("version", "$LATEST")]
        #expect(try metrics.expectCounter("signalbox_function_invocations_total", labels).totalValue == 4)
        #expect(try metrics.expectCounter("signalbox_function_errors_total", labels).totalValue == 2)
        #expect(try metrics.expectCounter("signalbox_function_throttles_total", labels).totalValue == 1)
        #expect(try metrics.expectCounter("signalbox_function_cold_starts_total", labels).totalValue == 2)
        #expect(try metrics.expectTimer("signalbox_function_duration_seconds", labels).values.count == 4)
        #expect(try metrics.expectTimer("signalbox_function_init_duration_seconds", labels).values.count == 2)
    }
}
