/// One action of a rule, as written in the rules file: which handler function to call, with what
/// configuration, and how to retry, time out and throttle it.
///
/// For example:
/// ```swift
/// let action = ActionDefinition(
///     function: "notify-sms", with: ["to": "${get_shadow(topic(4)).state.desired.alertPhone}"],
///     timeout: .seconds(10), throttle: ThrottlePolicy(key: "${topic(4)}", per: .seconds(3600)))
/// ```
package struct ActionDefinition: Sendable {
    /// The handler function's name (`persist`, `notify-sms`): lowercase letters, digits and `-`.
    package var function: LocatedString
    /// The handler's configuration (the `with:` key); every string in it is a substitution template.
    package var with: ConfigValue
    /// How often and how fast to retry a failed invocation.
    package var retry: RetryPolicy
    /// How long one invocation may take.
    package var timeout: Duration
    /// At most one invocation per key and period, if set.
    package var throttle: ThrottlePolicy?
    /// Where the action was written (its mapping), if read from a file.
    package var span: SourceSpan?
    /// Whether `with` was read without problems. When it was not (it is not a mapping, a value has
    /// the wrong type, an `${env:…}` reference is unset), those problems are already reported, and
    /// the handler does not check the settings again: its complaints would only repeat them.
    package var isConfigReadable = true

    /// The default timeout of an invocation (``Invocation/defaultTimeout``).
    package static let defaultTimeout: Duration = Invocation.defaultTimeout

    /// An action.
    ///
    /// - Parameters:
    ///   - function: The handler function's name.
    ///   - with: Its configuration; an empty map by default.
    ///   - retry: The retry policy; ``RetryPolicy/init(attempts:backoff:)`` defaults by default.
    ///   - timeout: The timeout of one invocation; 30 seconds by default.
    ///   - throttle: The throttle, if any.
    ///   - span: Where the action was written.
    package init(
        function: LocatedString, with: ConfigValue = .emptyMap, retry: RetryPolicy = RetryPolicy(),
        timeout: Duration = ActionDefinition.defaultTimeout, throttle: ThrottlePolicy? = nil, span: SourceSpan? = nil
    ) {
        self.function = function
        self.with = with
        self.retry = retry
        self.timeout = timeout
        self.throttle = throttle
        self.span = span
    }
}

/// How a failed invocation is retried: `attempts` in all (the first one included), waiting an
/// exponentially growing, jittered delay between `backoff.lowerBound` and `backoff.upperBound`.
public struct RetryPolicy: Sendable, Hashable {
    /// Attempts in all, the first one included; 1 means no retry.
    public var attempts: Int
    /// The shortest and longest wait between attempts.
    public var backoff: ClosedRange<Duration>

    /// The most attempts accepted in a rules file.
    package static let maxAttempts = 100

    /// A retry policy; by default 3 attempts with a backoff from 1 second to 1 minute.
    public init(attempts: Int = 3, backoff: ClosedRange<Duration> = .seconds(1) ... .seconds(60)) {
        self.attempts = attempts
        self.backoff = backoff
    }

    /// What follows a failed attempt number `attempt`: the wait before the next one, or nil when
    /// the invocation has failed for good (a ``PermanentHandlerError``, or no attempt left). The
    /// runtime and `HandlerHarness` both decide with it.
    package func retryDelay(after error: any Error, attempt: Int) -> Duration? {
        guard !(error is PermanentHandlerError), attempt < attempts else { return nil }
        return delay(afterAttempt: attempt)
    }

    /// The wait after attempt `attempt` failed: `min · 2^(attempt-1)`, at most `max`, less a random
    /// part of up to half of it ("equal jitter"), never below `min`.
    package func delay(afterAttempt attempt: Int, random: Double = Double.random(in: 0..<1)) -> Duration {
        let low = backoff.lowerBound
        let high = backoff.upperBound
        var delay = low
        for _ in 1..<max(1, attempt) {
            delay = delay * 2
            if delay >= high {
                delay = high
                break
            }
        }
        return max(low, delay - (delay / 2) * random)
    }
}

/// Limits an action to one invocation per key and period (`throttle: { key: "${topic(4)}", per: 1h }`).
///
/// Invocations over the limit are skipped, not delayed.
package struct ThrottlePolicy: Sendable {
    /// A substitution template evaluated per message; nil means one key for the whole action.
    package var key: LocatedString?
    /// The period.
    package var per: Duration

    /// A throttle of one invocation per `key` and `per`.
    package init(key: LocatedString? = nil, per: Duration) {
        self.key = key
        self.per = per
    }
}
