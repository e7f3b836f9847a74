//! (d) Noise on the line: two agents over a link emulator that injects bursts of random bytes
//! every few seconds and delivers one frame in five with a flipped bit, on top of 5 % loss. The
//! agents' deframers resynchronise after every burst, their CRCs catch every damaged frame
//! (status counts both, so the test knows the noise reached them), the transfer completes, and
//! nothing damaged ever reaches admission: no artifact fails its signature or decoding, and
//! exactly what was published is held.

use std::time::{Duration, Instant};

use skywave_hil_tests::{
    Emulator, agents_built, eventually, pair, test_dir, translator_revocation,
};
use skywave_protocol::policy::sample::Coalition;

/// Bursts of 300 random bytes, one every 2 s from the start.
const BURSTS: u64 = 12;

#[test]
fn agents_resynchronise_through_noise_and_admit_nothing_damaged() {
    if !agents_built() {
        return;
    }
    let dir = test_dir("noise");
    let mut args = vec![
        "--channel",
        "bernoulli:0.05",
        "--corrupt",
        "0.2",
        "--seed",
        "41",
    ];
    let bursts: Vec<String> = (1..=BURSTS).map(|i| format!("{}:300", i * 2)).collect();
    for burst in &bursts {
        args.extend(["--noise", burst]);
    }
    let started = Instant::now();
    let emu = Emulator::start(&args);
    let c = Coalition::new();
    let agents = pair(&dir, &c, &emu);
    let published = c.artifacts();
    agents[0].publish_all(&published, &dir);
    eventually(
        Duration::from_secs(180),
        "the transfer completes through the noise",
        || agents[1].held() == Some(published.len()),
    );
    // Published after the translator has arrived (a translator that arrives after its
    // revocation is refused, rightly, and would be counted below).
    agents[0].publish(&translator_revocation(&c), &dir.join("revocation.sky"));
    eventually(
        Duration::from_secs(120),
        "the revocation crosses the noise",
        || agents[1].held() == Some(published.len() + 1),
    );
    // Past the last burst, so every counter has seen all the noise.
    let quiet = started + Duration::from_secs(2 * BURSTS + 3);
    std::thread::sleep(quiet.saturating_duration_since(Instant::now()));
    for (i, agent) in agents.iter().enumerate() {
        let status = agent.status();
        let link = &status["links"][0];
        let counter = |name: &str| link[name].as_u64().unwrap_or(0);
        assert!(
            counter("noise_bytes") >= BURSTS * 300,
            "every burst reached the agent: {link}"
        );
        // The receiver hears dozens of frames, one in five damaged; the sender mostly
        // acknowledgements, too few to be sure of one.
        if i == 1 {
            assert!(
                counter("frames_damaged") + counter("bad_headers") > 0,
                "damaged frames reached the receiver: {link}"
            );
        }
        // Damage that slipped past the CRCs would fail a signature or the decoding. (Refusals
        // for a signer not yet known are an artifact overtaking its credential on a lossy
        // link; the node holds those until the credential arrives.)
        for damage in ["BadSignature", "Malformed"] {
            assert!(
                status["refused"][damage].is_null(),
                "nothing damaged got past the CRCs to admission: {}",
                status["refused"]
            );
        }
        assert_eq!(status["artifacts"], published.len() + 1);
        let d = agent.decide("GBR", 3, "2:11", "USA");
        assert_eq!(d["basis"], "home_only_translator_revoked", "{d}");
    }
}
