import Foundation

/// One invocation of a deployed function, as the Lambda Runtime API hands it to a worker.
package struct LambdaInvocation: Sendable, Hashable {
    /// `Lambda-Runtime-Aws-Request-Id`: unique per invocation.
    package var requestID: String
    /// The event: the request body the runtime client receives, JSON as Lambda passes it.
    package var event: [UInt8]
    /// `Lambda-Runtime-Deadline-Ms`: when the invocation times out, in milliseconds since the epoch.
    package var deadlineMilliseconds: Int64
    /// `Lambda-Runtime-Invoked-Function-Arn`: the function (and version or alias) invoked.
    package var invokedFunctionARN: String
    /// `Lambda-Runtime-Trace-Id`.
    package var traceID: String
    /// `Lambda-Runtime-Client-Context`: the caller's client context (JSON), when it sent one.
    package var clientContext: String?

    /// An invocation.
    package init(
        requestID: String, event: [UInt8], deadlineMilliseconds: Int64, invokedFunctionARN: String,
        traceID: String, clientContext: String? = nil
    ) {
        self.requestID = requestID
        self.event = event
        self.deadlineMilliseconds = deadlineMilliseconds
        self.invokedFunctionARN = invokedFunctionARN
        self.traceID = traceID
        self.clientContext = clientContext
    }
}

/// What a worker answered to an invocation.
package enum InvocationOutcome: Sendable, Hashable {
    /// The function returned: its result, as the runtime client posted it.
    case response([UInt8])
    /// The function raised: Lambda's error document (`{"errorMessage", "errorType", "stackTrace"}`)
    /// and the `Lambda-Runtime-Function-Error-Type` header, when the runtime client sent one.
    case functionError(document: [UInt8], errorType: String?)
}

/// Why a worker gave no outcome for an invocation. The worker is gone in every case.
package enum WorkerFailure: Error, Sendable, Hashable, CustomStringConvertible {
    /// The deadline passed: the worker was killed.
    case timedOut(seconds: Double)
    /// The worker process ended (exit status or signal) before it answered.
    case exited(status: Int32, signalled: Bool)
    /// The runtime client reported an init error (`/runtime/init/error`): Lambda's error document.
    case initFailed(document: [UInt8])
    /// The worker could not be started (no bootstrap, not executable, no listener).
    case cannotStart(String)

    /// The failure of an invocation that ran past `timeout`.
    package static func timedOut(after timeout: Duration) -> WorkerFailure {
        .timedOut(seconds: Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18)
    }

    package var description: String {
        switch self {
        case .timedOut(let seconds): "Task timed out after \(twoDecimals(seconds)) seconds"
        case .exited(let status, let signalled):
            signalled ? "Runtime exited with signal: \(status)" : "Runtime exited with error: exit status \(status)"
        case .initFailed: "The function failed to initialize"
        case .cannotStart(let reason): "The worker could not be started: \(reason)"
        }
    }
}

/// One invocation as it ran on a worker: its result, its times and what the function printed.
package struct InvocationRecord: Sendable {
    /// The invocation's request id.
    package var requestID: String
    /// The outcome, or why there was none.
    package var result: Result<InvocationOutcome, WorkerFailure>
    /// From handing the invocation over to its outcome (or failure).
    package var duration: Duration
    /// On a cold start, from the process's start to its first poll for work (the function's init).
    package var initDuration: Duration?
    /// The worker's peak memory so far (`VmHWM`), when the process could still be read.
    package var maxMemoryUsedMB: Int?
    /// On a cold start, what the worker wrote while it initialized (logged before `START`).
    package var initOutput: [UInt8]
    /// What the worker wrote to stdout and stderr while the invocation ran.
    package var output: [UInt8]

    /// Lambda's log of the invocation: the init's output on a cold start, `START`, the output, `END`
    /// and the tab-separated `REPORT` line
    /// (duration, billed duration, memory size, max memory used, init duration on a cold start),
    /// with the failure before `END` when there was one.
    package func log(version: String, memorySizeMB: Int) -> String {
        var text = String(decoding: initOutput, as: UTF8.self)
        if !text.isEmpty && !text.hasSuffix("\n") { text += "\n" }
        text += "START RequestId: \(requestID) Version: \(version)\n"
        text += String(decoding: output, as: UTF8.self)
        if !text.hasSuffix("\n") { text += "\n" }
        if case .failure(let failure) = result {
            text += "\(Self.timestamp()) \(requestID) \(failure.description)\n"
        }
        text += "END RequestId: \(requestID)\n"
        let milliseconds = Self.milliseconds(duration)
        var report = [
            "REPORT RequestId: \(requestID)", "Duration: \(twoDecimals(milliseconds)) ms",
            "Billed Duration: \(Int(milliseconds.rounded(.up))) ms", "Memory Size: \(memorySizeMB) MB",
        ]
        if let maxMemoryUsedMB { report.append("Max Memory Used: \(maxMemoryUsedMB) MB") }
        if let initDuration { report.append("Init Duration: \(twoDecimals(Self.milliseconds(initDuration))) ms") }
        text += report.joined(separator: "\t") + "\t\n"
        return text
    }

    private static func milliseconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
    }

    private static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var parts = tm()
        var seconds = now.tv_sec
        gmtime_r(&seconds, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let millis = Int(now.tv_nsec / 1_000_000)
        let fraction = millis < 10 ? "00\(millis)" : millis < 100 ? "0\(millis)" : "\(millis)"
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):"
            + "\(two(parts.tm_min)):\(two(parts.tm_sec)).\(fraction)Z"
    }
}

/// `value` with two decimals, as Lambda writes durations (`12.34`).
func twoDecimals(_ value: Double) -> String {
    let hundredths = Int((value * 100).rounded())
    let fraction = hundredths % 100
    return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
}

/// Wall-clock milliseconds, as the Runtime API's `Lambda-Runtime-Deadline-Ms` counts them.
enum LambdaTime {
    /// Milliseconds since the Unix epoch.
    static func epochMilliseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
    }

    /// The deadline `duration` from now, in milliseconds since the Unix epoch.
    static func deadline(after duration: Duration) -> Int64 {
        epochMilliseconds() + duration.components.seconds * 1000
            + duration.components.attoseconds / 1_000_000_000_000_000
    }
}
