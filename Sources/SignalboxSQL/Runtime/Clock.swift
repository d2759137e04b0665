#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The wall clock every part of Signalbox reads the time from. `serve` makes one and hands it to
/// the runtime, the shadows, authentication, HTTP ingest and the MQTT bridge; tests give their own.
///
/// ```swift
/// let clock = WallClock.system
/// clock.milliseconds()   // receive times, `timestamp()`
/// clock.seconds()        // shadow metadata, token times, SigV4 dates
/// let fixed = WallClock { 1_700_000_000_000 }
/// ```
package struct WallClock: Sendable {
    /// Milliseconds since the Unix epoch.
    package let milliseconds: @Sendable () -> Int64

    /// A clock that reads `milliseconds`.
    package init(milliseconds: @escaping @Sendable () -> Int64) { self.milliseconds = milliseconds }

    /// Whole seconds since the Unix epoch.
    package func seconds() -> Int64 {
        let ms = milliseconds()
        return ms >= 0 ? ms / 1000 : (ms - 999) / 1000
    }

    /// The system's real-time clock.
    package static let system = WallClock { SystemClock.milliseconds() }
}

/// Wall-clock time without Foundation (what ``WallClock/system`` reads).
package enum SystemClock {
    /// Milliseconds since the Unix epoch.
    package static func milliseconds() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000
    }
}

/// Random (version 4) UUIDs.
package enum RandomUUID {
    /// A new random UUID in lowercase canonical form.
    package static func string() -> String {
        var generator = SystemRandomNumberGenerator()
        var bytes = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
        bytes[6] = (bytes[6] & 0x0F) | 0x40
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        let hex = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(36)
        for (i, byte) in bytes.enumerated() {
            if i == 4 || i == 6 || i == 8 || i == 10 { out.append(UInt8(ascii: "-")) }
            out.append(hex[Int(byte >> 4)])
            out.append(hex[Int(byte & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
