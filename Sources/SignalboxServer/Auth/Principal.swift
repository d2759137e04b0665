/// Who a request comes from, once authenticated.
package enum Principal: Sendable, Hashable {
    /// An admin token: may do everything.
    case admin
    /// A gateway token: its gateway's devices and sync stream only.
    case gateway(String)
}
