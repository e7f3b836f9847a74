//! Frame-level HF channel models: which D_PDUs a receiver loses.
//!
//! Every (transmitter, receiver) pair has its own [`Channel`] with its own random stream, so
//! listeners of one broadcast lose frames independently. A modem that cannot decode a frame
//! outputs nothing, so a lost frame simply does not arrive.
//!
//! - [`Model::Bernoulli`]: each frame lost with probability `p`.
//! - [`Model::Ber`]: each bit hit with probability `ber`, a frame lost if any bit is, so a
//!   frame of `n` bytes survives with `(1 - ber)^(8n)`: longer frames die more often.
//! - [`Model::GilbertElliott`]: two states stepped once per frame. Our names: `p` = P(Good to
//!   Bad), `r` = P(Bad to Good), `loss_good` = 1 - k and `loss_bad` = 1 - h in the classic
//!   notation (netem's `gemodel p r 1-h 1-k` takes them in the other order). Stationary loss
//!   `p/(p+r) * loss_bad + r/(p+r) * loss_good`; mean burst `1/r` frames.
//! - [`Model::Fading`]: a continuous-time fade process derived from the CCIR presets (see
//!   [`Preset`] and docs/link.md): the signal spends exponentially distributed times out of and
//!   in fades; a frame is lost when, in any interleaver block it overlaps, fading covers more
//!   than the fraction of the block the modem's FEC can correct.
//!
//! Outages (scheduled windows and random on/off periods) are applied on top by the simulator.

use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use serde::{Deserialize, Serialize};

/// A uniform sample in [0, 1) from 53 random bits.
pub fn uniform(rng: &mut ChaCha8Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// An exponentially distributed sample with the given mean.
pub fn exponential(rng: &mut ChaCha8Rng, mean: f64) -> f64 {
    -mean * (1.0 - uniform(rng)).ln()
}

/// The CCIR (ITU-R F.520) fading presets, spelled `ccir-good`, `ccir-moderate`, `ccir-poor`
/// in scenario files, reports and on the command line alike (`ccir_poor` and the like, the
/// scenario files' old spelling, are still read).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Preset {
    /// Mid-latitude quiet: 0.5 ms differential delay, 0.1 Hz Doppler spread.
    #[serde(alias = "ccir_good")]
    CcirGood,
    /// 1 ms, 0.5 Hz.
    #[serde(alias = "ccir_moderate")]
    CcirModerate,
    /// Mid-latitude disturbed: 2 ms, 1 Hz.
    #[serde(alias = "ccir_poor")]
    CcirPoor,
}

/// Depth below the mean signal at which a fade is counted: 10 dB.
const FADE_DEPTH_POWER_RATIO: f64 = 0.1;

impl Preset {
    /// The Doppler spread in Hz.
    pub fn doppler_spread(self) -> f64 {
        match self {
            Preset::CcirGood => 0.1,
            Preset::CcirModerate => 0.5,
            Preset::CcirPoor => 1.0,
        }
    }

    /// (fades per second, mean fade duration in seconds) at 10 dB below the mean, from the
    /// Rayleigh level-crossing formulas with effective Doppler `f = spread / sqrt 2`:
    /// rate `N = sqrt(2 pi) f rho e^(-rho^2)`, duration `(e^(rho^2) - 1) / (rho f sqrt(2 pi))`,
    /// `rho^2 = 0.1`.
    pub fn fade_statistics(self) -> (f64, f64) {
        let f = self.doppler_spread() / std::f64::consts::SQRT_2;
        let rho2 = FADE_DEPTH_POWER_RATIO;
        let rho = rho2.sqrt();
        let root_2pi = (2.0 * std::f64::consts::PI).sqrt();
        let rate = root_2pi * f * rho * (-rho2).exp();
        let duration = (rho2.exp() - 1.0) / (rho * f * root_2pi);
        (rate, duration)
    }
}

/// A loss model with its parameters, as written in scenario files.
#[derive(Clone, Copy, PartialEq, Debug, Serialize, Deserialize)]
#[serde(tag = "model", rename_all = "snake_case")]
pub enum Model {
    /// No loss.
    Clean,
    /// Independent frame loss.
    Bernoulli {
        /// Frame loss probability.
        p: f64,
    },
    /// Independent bit errors.
    Ber {
        /// Bit error probability.
        ber: f64,
    },
    /// Two-state burst loss stepped per frame.
    GilbertElliott {
        /// P(Good to Bad) per frame.
        p: f64,
        /// P(Bad to Good) per frame.
        r: f64,
        /// Loss probability in Good (1 - k).
        loss_good: f64,
        /// Loss probability in Bad (1 - h).
        loss_bad: f64,
    },
    /// Rayleigh fading per a CCIR preset.
    Fading {
        /// Which preset.
        preset: Preset,
        /// Fraction of an interleaver block the modem's FEC recovers when faded (0.15 unless
        /// given).
        #[serde(default = "default_correctable")]
        correctable: f64,
    },
}

fn default_correctable() -> f64 {
    0.15
}

/// One transmitter-to-receiver channel with its own random stream and state.
#[derive(Clone, Debug)]
pub struct Channel {
    model: Model,
    rng: ChaCha8Rng,
    /// Gilbert-Elliott: in the Bad state.
    bad: bool,
    /// Fading: fades generated so far, as (start, end) seconds, oldest first.
    fades: std::collections::VecDeque<(f64, f64)>,
    /// Fading: time up to which fades have been generated.
    generated_to: f64,
}

impl Channel {
    /// A channel with `model`, its randomness seeded by `seed`.
    pub fn new(model: Model, seed: u64) -> Self {
        Channel {
            model,
            rng: ChaCha8Rng::seed_from_u64(seed),
            bad: false,
            fades: std::collections::VecDeque::new(),
            generated_to: 0.0,
        }
    }

    /// Whether a frame of `bytes` bytes on the air from `start` to `end` (seconds) is lost,
    /// with the receiving modem's interleaver span `interleaver` (seconds).
    pub fn loses(&mut self, bytes: usize, start: f64, end: f64, interleaver: f64) -> bool {
        match self.model {
            Model::Clean => false,
            Model::Bernoulli { p } => uniform(&mut self.rng) < p,
            Model::Ber { ber } => {
                let survive = (1.0 - ber).powf(8.0 * bytes as f64);
                uniform(&mut self.rng) >= survive
            }
            Model::GilbertElliott {
                p,
                r,
                loss_good,
                loss_bad,
            } => {
                let flip = uniform(&mut self.rng);
                self.bad = if self.bad { flip >= r } else { flip < p };
                let loss = if self.bad { loss_bad } else { loss_good };
                uniform(&mut self.rng) < loss
            }
            Model::Fading {
                preset,
                correctable,
            } => self.fading_loses(preset, correctable, start, end, interleaver),
        }
    }

    fn fading_loses(
        &mut self,
        preset: Preset,
        correctable: f64,
        start: f64,
        end: f64,
        interleaver: f64,
    ) -> bool {
        let (rate, duration) = preset.fade_statistics();
        // Alternating renewal process: mean cycle 1/rate, of which `duration` in a fade.
        let mean_clear = (1.0 / rate - duration).max(duration);
        while self.generated_to < end {
            let clear = exponential(&mut self.rng, mean_clear);
            let fade = exponential(&mut self.rng, duration);
            let s = self.generated_to + clear;
            self.fades.push_back((s, s + fade));
            self.generated_to = s + fade;
        }
        let block = interleaver.max(0.01);
        while self.fades.front().is_some_and(|f| f.1 < start - block) {
            self.fades.pop_front();
        }
        // Blocks aligned on the frame; the last one may be partial.
        let mut b = start;
        while b < end {
            let be = (b + block).min(end);
            let faded: f64 = self
                .fades
                .iter()
                .map(|&(fs, fe)| (fe.min(be) - fs.max(b)).max(0.0))
                .sum();
            if faded > correctable * block {
                return true;
            }
            b = be;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loss_rate(model: Model, bytes: usize, frame_secs: f64) -> f64 {
        let mut c = Channel::new(model, 42);
        let n = 20_000;
        let lost = (0..n)
            .filter(|&i| {
                let t = i as f64 * frame_secs;
                c.loses(bytes, t, t + frame_secs, 0.6)
            })
            .count();
        lost as f64 / n as f64
    }

    #[test]
    fn presets_have_one_spelling_and_read_the_old_one() {
        #[derive(serde::Deserialize)]
        struct One {
            preset: Preset,
        }
        let read = |text: &str| toml::from_str::<One>(text).map(|o| o.preset).ok();
        assert_eq!(read("preset = \"ccir-poor\""), Some(Preset::CcirPoor));
        assert_eq!(read("preset = \"ccir_poor\""), Some(Preset::CcirPoor));
        assert_eq!(
            read("preset = \"ccir_moderate\""),
            Some(Preset::CcirModerate)
        );
        assert_eq!(
            serde_json::to_string(&Preset::CcirGood).ok().as_deref(),
            Some("\"ccir-good\"")
        );
    }

    #[test]
    fn ccir_derivation_matches_the_reference_figures() {
        let (rate, dur) = Preset::CcirPoor.fade_statistics();
        assert!((rate - 0.5).abs() < 0.02, "poor: {rate} fades/s");
        assert!((dur - 0.19).abs() < 0.01, "poor: {dur} s per fade");
        let (rate_g, dur_g) = Preset::CcirGood.fade_statistics();
        assert!((rate / rate_g - 10.0).abs() < 0.01 && (dur_g / dur - 10.0).abs() < 0.01);
    }

    #[test]
    fn models_lose_what_their_parameters_say() {
        let b = loss_rate(Model::Bernoulli { p: 0.1 }, 100, 0.5);
        assert!((b - 0.1).abs() < 0.01, "bernoulli {b}");
        // 1e-4 over 1000 bits: 1 - 0.9999^1000 = 0.095.
        let ber = loss_rate(Model::Ber { ber: 1e-4 }, 125, 0.5);
        assert!((ber - 0.095).abs() < 0.01, "ber {ber}");
        let ge = Model::GilbertElliott {
            p: 0.05,
            r: 0.25,
            loss_good: 0.0,
            loss_bad: 1.0,
        };
        let g = loss_rate(ge, 100, 0.5);
        assert!((g - 0.05 / 0.30).abs() < 0.02, "gilbert-elliott {g}");
        let poor = Model::Fading {
            preset: Preset::CcirPoor,
            correctable: 0.15,
        };
        let good = Model::Fading {
            preset: Preset::CcirGood,
            correctable: 0.15,
        };
        let (p, g) = (loss_rate(poor, 300, 1.0), loss_rate(good, 300, 1.0));
        assert!(p > g, "poor {p} loses more than good {g}");
        assert_eq!(loss_rate(Model::Clean, 100, 0.5), 0.0);
    }
}
