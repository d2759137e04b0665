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

    package var description: String {
        switch self {
        case .timedOut(let seconds): "Task timed out after \(seconds) seconds"
        case .exited(let status, let signalled):
            signalled ? "Runtime exited with signal: \(status)" : "Runtime exited with error: exit status \(status)"
        case .initFailed: "The function failed to initialize"
        case .cannotStart(let reason): "The worker could not be started: \(reason)"
        }
    }
}
