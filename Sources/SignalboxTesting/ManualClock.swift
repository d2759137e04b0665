import SignalboxSQL
import Synchronization

/// A wall clock that moves only when a test moves it: what the code under test reads as "now".
///
/// ```swift
/// let clock = ManualClock()                   // 2023-11-14T22:13:20Z
/// let harness = HandlerHarness(clock: clock)  // handlers read it through `services.now`
/// clock.advance(by: .minutes(5))
/// ```
public final class ManualClock: Sendable {
    private let value: Mutex<Int64>

    /// A clock showing `milliseconds` since the Unix epoch (2023-11-14T22:13:20Z unless given).
    public init(milliseconds: Int64 = 1_700_000_000_000) {
        value = Mutex(milliseconds)
    }

    /// Milliseconds since the Unix epoch.
    public var milliseconds: Int64 { value.withLock { $0 } }

    /// Whole seconds since the Unix epoch.
    public var seconds: Int64 { wallClock.seconds() }

    /// Moves the clock forward (or back, for a negative `duration`), to the millisecond.
    public func advance(by duration: Duration) {
        let (seconds, attoseconds) = duration.components
        value.withLock { $0 += seconds * 1000 + attoseconds / 1_000_000_000_000_000 }
    }

    /// Sets the clock to `milliseconds` since the Unix epoch.
    public func set(milliseconds: Int64) {
        value.withLock { $0 = milliseconds }
    }

    /// The clock as Signalbox's parts take it.
    package var wallClock: WallClock { WallClock { [self] in self.milliseconds } }
}
