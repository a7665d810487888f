//! Who may come in: the Origin allow-list ([`origin`]), per-client-address
//! rate limits ([`rate`]) and the per-client-address cap on live waiters
//! ([`waiters`]) — small policy types — and [`Gate`] ([`gate`]), the one
//! layer per route that applies them (and bounds the request body).

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::limits::Limits;

mod gate;
mod origin;
mod rate;
mod waiters;

pub use gate::{gate, Gate, GateFuture, GateLayer, Holds, Origins, Policy};
pub use origin::{cors, origin_allowed, same_origin};
pub use rate::{too_many, Group, RateLimiter};
pub use waiters::{too_many_waiters, WaiterSlot, Waiters};

/// The peer address of the connection a request came in on (set by
/// [`serve`](crate::serve) for every connection).
#[derive(Clone, Copy, Debug)]
pub struct ClientAddr(pub SocketAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<ClientAddr>()
            .copied()
            .unwrap_or(ClientAddr(SocketAddr::from(([0, 0, 0, 0], 0)))))
    }
}

/// The key limits are counted under: the IPv4 address, or the /64 prefix of
/// an IPv6 address (one subscriber line usually owns a whole /64).
fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
        v4 => v4,
    }
}

/// Everything the gate shares.
pub struct Doors {
    pub rate: RateLimiter,
    pub waiters: Arc<Waiters>,
}

impl Doors {
    pub fn new(limits: &Limits) -> Self {
        Doors {
            rate: RateLimiter::new(limits.rate_per_sec),
            waiters: Waiters::new(limits.max_waiters_per_client),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_counts_per_64() {
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(client_key(a), client_key(b));
        assert_ne!(client_key(a), client_key(c));
    }
}
