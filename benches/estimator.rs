//! How long one staffing estimate takes at a small and a large queue.
//!
//! Run with `cargo bench --bench estimator -- --warm-up-time 1 --measurement-time 3`.

use std::hint::black_box;

use cloudseat::seats::erlang::{StaffingRequest, estimate};
use criterion::{Criterion, criterion_group, criterion_main};

fn request(contacts_per_hour: f64) -> StaffingRequest {
    StaffingRequest {
        contacts_per_hour,
        aht_seconds: 240.0,
        concurrency: 1,
        target_percent: 80.0,
        target_seconds: 20.0,
        max_occupancy: Some(85.0),
        shrinkage_percent: Some(30.0),
    }
}

fn estimator(c: &mut Criterion) {
    let mut group = c.benchmark_group("estimate");
    for contacts_per_hour in [1_200.0, 20_000.0] {
        let req = request(contacts_per_hour);
        group.bench_function(format!("{contacts_per_hour}_per_hour_aht_240s"), |b| {
            b.iter(|| estimate(black_box(&req)))
        });
    }
    group.finish();
}

criterion_group!(benches, estimator);
criterion_main!(benches);
