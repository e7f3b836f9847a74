//! Client confirmations the driver answers ([`Station::answer_for`], [`Station::answer`]).
//!
//! The station answers a released client U_PDU's request for delivery confirmation itself
//! (CONFIRM) as it hands the U_PDU out, which is right when handing it out is delivering it.
//! A driver that may still fail to keep what it is handed (the host agent's operator inbox
//! has a bound, and its store can fail) names those SAPs instead, and answers each request
//! once it knows: CONFIRM when it kept the U_PDU, DATA DELIVERY FAIL with its reason when it
//! did not, so a sender is never confirmed for a message that was dropped. One request waits
//! at a time (one U_PDU is lent at a time), and nothing else moves between the links and the
//! node while it waits; a driver that never answers gets the station's own answer at its next
//! [`Station::poll_event`], so the links never stall on a forgotten request.
//!
//! Behind the `driver-answers` feature (on with `std`): a board whose driver never answers
//! leaves it out and pays nothing for it. Built in unconditionally it cost the adjunct 248 B
//! of flash (120,900 B against 120,652 B), past what its image + journal bound had left; with
//! the feature off the image is 120,652 B again, byte for byte the size it was.

#[cfg(any(test, feature = "driver-answers"))]
mod on;
#[cfg(any(test, feature = "driver-answers"))]
pub(super) use on::*;

#[cfg(not(any(test, feature = "driver-answers")))]
mod off;
#[cfg(not(any(test, feature = "driver-answers")))]
pub(super) use off::*;
