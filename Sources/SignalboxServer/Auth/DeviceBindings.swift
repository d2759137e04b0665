import Logging
import SignalboxCore
import Synchronization

/// Checks that the devices a gateway publishes for are bound to it, binding a device bound to no
/// gateway on first use when auto-binding is on.
///
/// A gateway's bound devices are read from the registry at most once a second (the command line
/// binds and unbinds in another process), so a binding change takes effect within a second.
///
/// For example:
/// ```swift
/// let bindings = DeviceBindings(registry: registry, autoBind: false)
/// try await bindings.unbound(["f1", "f2"], of: "gw1")   // [] when both are gw1's
/// ```
package final class DeviceBindings: Sendable {
    private struct Entry {
        /// Valid thing names, so ASCII only.
        var things: Set<String>
        var fetchedAt: ContinuousClock.Instant
    }

    /// How long a gateway's bound devices are kept.
    static let lifetime = Duration.seconds(1)
    /// Most gateways kept at once.
    static let capacity = 1024

    private let registry: any IdentityRegistry
    private let autoBind: Bool
    private let logger: Logger
    private let cache = Mutex<[String: Entry]>([:])

    /// - Parameters:
    ///   - autoBind: Whether a device bound to no gateway is bound to the first gateway that
    ///     publishes for it.
    package init(registry: any IdentityRegistry, autoBind: Bool, logger: Logger = Logger(label: "signalbox.auth")) {
        self.registry = registry
        self.autoBind = autoBind
        self.logger = logger
    }

    /// The devices of `devices` that `gateway` may not publish for: bound to another gateway, bound
    /// to none while auto-binding is off, or not valid thing names (`[a-zA-Z0-9:_-]{1,128}`, which no
    /// device can be bound as). With auto-binding on, the unbound ones are bound to `gateway`.
    ///
    /// Names are compared byte for byte: Swift's `String` equality would take a name with a
    /// compatibility character (a Kelvin sign for `K`) for another gateway's device.
    ///
    /// - Throws: What the registry throws.
    package func unbound(_ devices: some Sequence<String>, of gateway: String) async throws -> [String] {
        var things = try await boundThings(of: gateway)
        var refused: [String] = []
        var checked = Set<[UInt8]>()
        for device in devices {
            // Bound names are ASCII, which `String` compares byte for byte: a name with another byte
            // is never one of them, whatever `String` equality says.
            if things.contains(device), device.utf8.allSatisfy({ $0 < 0x80 }) { continue }
            guard checked.insert(Array(device.utf8)).inserted else { continue }
            if ShadowKey.isValid(device, allowingDollar: false, maxLength: 128),
                try await bindOnFirstUse(device, to: gateway)
            {
                things.insert(device)
            } else {
                refused.append(device)
            }
        }
        return refused
    }

    /// Forgets what is kept of `gateway`'s devices (after a binding changed in this process).
    package func forget(_ gateway: String) {
        _ = cache.withLock { $0.removeValue(forKey: gateway) }
    }

    private func boundThings(of gateway: String) async throws -> Set<String> {
        let now = ContinuousClock.now
        if let entry = cache.withLock({ $0[gateway] }), now - entry.fetchedAt < Self.lifetime {
            return entry.things
        }
        let things = Set(try await registry.things(of: gateway))
        cache.withLock { cache in
            if cache.count >= Self.capacity {
                cache = cache.filter { now - $0.value.fetchedAt < Self.lifetime }
                if cache.count >= Self.capacity { cache.removeAll(keepingCapacity: true) }
            }
            cache[gateway] = Entry(things: things, fetchedAt: now)
        }
        return things
    }

    /// Whether `device` is `gateway`'s now: bound to it since the cache was filled, or bound to none
    /// and bound to it here because auto-binding is on.
    private func bindOnFirstUse(_ device: String, to gateway: String) async throws -> Bool {
        let owner = try await registry.gateway(of: device)
        if owner == gateway {
            remember(device, of: gateway)
            return true
        }
        guard owner == nil, autoBind else { return false }
        do {
            try await registry.bind(thing: device, to: gateway)
        } catch IdentityError.thingBoundElsewhere {
            return false
        } catch IdentityError.invalidName {
            return false  // not a valid thing name: it can never be bound
        } catch IdentityError.unknownGateway {
            return false  // no such gateway: nothing can be bound to it
        }
        logger.info("device auto-bound", metadata: ["device.id": "\(device)", "gateway.name": "\(gateway)"])
        remember(device, of: gateway)
        return true
    }

    private func remember(_ device: String, of gateway: String) {
        cache.withLock { cache in _ = cache[gateway]?.things.insert(device) }
    }
}
