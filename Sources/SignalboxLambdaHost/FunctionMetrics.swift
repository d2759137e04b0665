import Metrics

/// The metrics of one deployed function version, labelled with `function` and `version`, as Lambda's
/// CloudWatch metrics: invocations, errors, throttles, duration, cold starts, init duration and
/// concurrent executions.
struct FunctionMetrics: Sendable {
    /// Invocations run (whatever their outcome).
    let invocations: Counter
    /// Invocations that returned a function error or failed (timeout, crash, init failure).
    let errors: Counter
    /// Invocations refused because every worker was busy and the queue full.
    let throttles: Counter
    /// Each invocation's duration.
    let duration: Metrics.Timer
    /// Workers started.
    let coldStarts: Counter
    /// Each cold start's init duration.
    let initDuration: Metrics.Timer
    /// Workers running now.
    let concurrentExecutions: Meter

    init(function: String, version: String, factory: any MetricsFactory) {
        let dimensions = [("function", function), ("version", version)]
        invocations = Counter(label: "signalbox_function_invocations_total", dimensions: dimensions, factory: factory)
        errors = Counter(label: "signalbox_function_errors_total", dimensions: dimensions, factory: factory)
        throttles = Counter(label: "signalbox_function_throttles_total", dimensions: dimensions, factory: factory)
        duration = Metrics.Timer(
            label: "signalbox_function_duration_seconds", dimensions: dimensions, factory: factory)
        coldStarts = Counter(label: "signalbox_function_cold_starts_total", dimensions: dimensions, factory: factory)
        initDuration = Metrics.Timer(
            label: "signalbox_function_init_duration_seconds", dimensions: dimensions, factory: factory)
        concurrentExecutions = Meter(
            label: "signalbox_function_concurrent_executions", dimensions: dimensions, factory: factory)
    }

    /// Records how `record` ran.
    func record(_ record: InvocationRecord) {
        invocations.increment()
        switch record.result {
        case .success(.response): break
        case .success(.functionError), .failure: errors.increment()
        }
        duration.recordNanoseconds(Self.nanoseconds(record.duration))
        if let initDuration = record.initDuration {
            self.initDuration.recordNanoseconds(Self.nanoseconds(initDuration))
        }
    }

    private static func nanoseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000
    }
}
