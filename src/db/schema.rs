//! Diesel table definitions, shared by both backends (see `migrations/sqlite` and
//! `migrations/postgres`; `tests/api/schema.rs` proves the two agree).

diesel::table! {
    merchants (id) {
        id -> Text,
        name -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    accounts (id) {
        id -> Text,
        email -> Text,
        password_hash -> Text,
        role -> Text,
        merchant_id -> Nullable<Text>,
        display_name -> Text,
        locale -> Text,
        time_zone -> Text,
        email_verified_at -> Nullable<Timestamp>,
        password_changed_at -> Timestamp,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    agents (account_id) {
        account_id -> Text,
        status -> Text,
        status_changed_at -> Timestamp,
        created_at -> Timestamp,
        previous_status -> Nullable<Text>,
        languages -> Text,
        skills -> Text,
        availability -> Text,
        max_concurrent_chats -> Integer,
        accessibility -> Text,
        left_reason -> Nullable<Text>,
        auto_assign -> Bool,
        urgent_alerts -> Bool,
        calendar_token -> Nullable<Text>,
        chat_auto_accept -> Bool,
        level -> Integer,
        level_since -> Nullable<Timestamp>,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> Text,
        account_id -> Text,
        family_id -> Text,
        token_hash -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    email_tokens (id) {
        id -> Text,
        account_id -> Text,
        purpose -> Text,
        token_hash -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    login_throttle (throttle_key) {
        throttle_key -> Text,
        failures -> Integer,
        window_started_at -> Timestamp,
        locked_until -> Nullable<Timestamp>,
    }
}

diesel::table! {
    outbox (id) {
        id -> Text,
        recipient -> Text,
        subject -> Text,
        body_text -> Text,
        body_html -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        lease_until -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
        attachments -> Text,
    }
}

diesel::table! {
    audit_log (id) {
        id -> Text,
        actor_account_id -> Nullable<Text>,
        action -> Text,
        target_type -> Text,
        target_id -> Nullable<Text>,
        details -> Text,
        request_id -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    lifecycle_events (id) {
        id -> Text,
        entity_type -> Text,
        entity_id -> Text,
        from_state -> Nullable<Text>,
        to_state -> Text,
        actor_account_id -> Nullable<Text>,
        reason -> Nullable<Text>,
        occurred_at -> Timestamp,
    }
}

diesel::table! {
    seat_inventory (skill, hour_start) {
        skill -> Text,
        hour_start -> Timestamp,
        capacity -> Integer,
        sold -> Integer,
    }
}

diesel::table! {
    bookings (id) {
        id -> Text,
        merchant_id -> Text,
        created_by -> Text,
        skill -> Text,
        start_date -> Date,
        end_date -> Date,
        daily_start_hour -> Integer,
        daily_end_hour -> Integer,
        time_zone -> Text,
        seats -> Integer,
        seat_hours -> BigInt,
        status -> Text,
        ruleset_version -> Text,
        period_id -> Nullable<Text>,
        quote -> Text,
        total_fen -> BigInt,
        hold_expires_at -> Nullable<Timestamp>,
        invoice_number -> Nullable<Text>,
        paid_fen -> Nullable<BigInt>,
        refund_fen -> Nullable<BigInt>,
        cancel_reason -> Nullable<Text>,
        starts_at -> Timestamp,
        ends_at -> Timestamp,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        confirmed_at -> Nullable<Timestamp>,
        cancelled_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    shifts (id) {
        id -> Text,
        booking_id -> Text,
        merchant_id -> Text,
        skill -> Text,
        seat_no -> Integer,
        starts_at -> Timestamp,
        ends_at -> Timestamp,
        status -> Text,
        agent_id -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        urgent_bonus_fen -> BigInt,
        swap_offered_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    shift_assignments (id) {
        id -> Text,
        shift_id -> Text,
        agent_id -> Text,
        merchant_id -> Text,
        booking_id -> Text,
        via -> Text,
        starts_at -> Timestamp,
        ends_at -> Timestamp,
        claimed_at -> Timestamp,
        checked_in_at -> Nullable<Timestamp>,
        checked_out_at -> Nullable<Timestamp>,
        ended_at -> Nullable<Timestamp>,
        outcome -> Nullable<Text>,
    }
}

diesel::table! {
    work_stretches (agent_id, first_at) {
        agent_id -> Text,
        first_at -> Timestamp,
        last_at -> Timestamp,
    }
}

diesel::table! {
    notifications_sent (kind, subject_key) {
        kind -> Text,
        subject_key -> Text,
        sent_at -> Timestamp,
    }
}

diesel::table! {
    exam_tracks (skill) {
        skill -> Text,
        exam_size -> Integer,
        pass_percent -> Integer,
        duration_minutes -> Integer,
        cooldown_hours -> Integer,
        max_attempts_per_30_days -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        trial -> Text,
    }
}

diesel::table! {
    exam_questions (id) {
        id -> Text,
        skill -> Text,
        topic -> Text,
        kind -> Text,
        body -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    exam_attempts (id) {
        id -> Text,
        agent_id -> Text,
        skill -> Text,
        items -> Text,
        answers -> Text,
        status -> Text,
        pass_percent -> Integer,
        started_at -> Timestamp,
        deadline -> Timestamp,
        submitted_at -> Nullable<Timestamp>,
        choice_points -> Nullable<Integer>,
        choice_max -> Nullable<Integer>,
        scenario_max -> Nullable<Integer>,
        percent -> Nullable<Integer>,
        scenario_points -> Nullable<Integer>,
        review -> Nullable<Text>,
        reviewed_by -> Nullable<Text>,
        reviewed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    trial_slots (id) {
        id -> Text,
        skill -> Text,
        starts_at -> Timestamp,
        ends_at -> Timestamp,
        capacity -> Integer,
        booked -> Integer,
        created_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    trials (id) {
        id -> Text,
        agent_id -> Text,
        slot_id -> Text,
        skill -> Text,
        status -> Text,
        chats -> Text,
        scores -> Nullable<Text>,
        percent -> Nullable<Integer>,
        feedback -> Nullable<Text>,
        reviewed_by -> Nullable<Text>,
        booked_at -> Timestamp,
        submitted_at -> Nullable<Timestamp>,
        reviewed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    certifications (agent_id, skill) {
        agent_id -> Text,
        skill -> Text,
        certified_at -> Timestamp,
        expires_at -> Timestamp,
        trial_id -> Nullable<Text>,
    }
}

diesel::table! {
    briefings (merchant_id) {
        merchant_id -> Text,
        products -> Text,
        shipping -> Text,
        returns -> Text,
        other -> Text,
        version -> Integer,
        updated_by -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    briefing_revisions (id) {
        id -> Text,
        merchant_id -> Text,
        version -> Integer,
        products -> Text,
        shipping -> Text,
        returns -> Text,
        other -> Text,
        changed -> Text,
        created_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    quick_replies (id) {
        id -> Text,
        merchant_id -> Text,
        title -> Text,
        body -> Text,
        shortcut -> Nullable<Text>,
        skill -> Nullable<Text>,
        position -> Integer,
        created_by -> Text,
        created_at -> Timestamp,
        updated_by -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    merchant_widget_keys (merchant_id) {
        merchant_id -> Text,
        widget_key -> Text,
        created_at -> Timestamp,
        rotated_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    merchant_api_keys (id) {
        id -> Text,
        merchant_id -> Text,
        label -> Text,
        key_hash -> Text,
        hint -> Text,
        created_by -> Text,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    webhook_endpoints (id) {
        id -> Text,
        merchant_id -> Text,
        url -> Text,
        secret -> Text,
        events -> Text,
        active -> Bool,
        description -> Text,
        created_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> Text,
        endpoint_id -> Text,
        merchant_id -> Text,
        event -> Text,
        payload -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        lease_until -> Nullable<Timestamp>,
        last_status_code -> Nullable<Integer>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        delivered_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    customers (id) {
        id -> Text,
        merchant_id -> Text,
        display_name -> Nullable<Text>,
        notes -> Text,
        merged_into -> Nullable<Text>,
        last_agent_id -> Nullable<Text>,
        last_served_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    customer_identities (merchant_id, kind, value) {
        merchant_id -> Text,
        kind -> Text,
        value -> Text,
        customer_id -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    chats (id) {
        id -> Text,
        merchant_id -> Text,
        customer_id -> Text,
        skill -> Text,
        channel -> Text,
        status -> Text,
        agent_id -> Nullable<Text>,
        priority -> Integer,
        queued_at -> Timestamp,
        created_at -> Timestamp,
        first_offered_at -> Nullable<Timestamp>,
        accepted_at -> Nullable<Timestamp>,
        first_response_at -> Nullable<Timestamp>,
        closed_at -> Nullable<Timestamp>,
        closed_by -> Nullable<Text>,
        close_reason -> Nullable<Text>,
        last_seq -> Integer,
        customer_messages -> Integer,
        agent_messages -> Integer,
        transfers -> Integer,
        takebacks -> Integer,
        customer_read_seq -> Integer,
        agent_read_seq -> Integer,
        rating -> Nullable<Integer>,
        rating_comment -> Nullable<Text>,
        rated_at -> Nullable<Timestamp>,
        customer_token_hash -> Text,
        customer_name -> Nullable<Text>,
        last_customer_at -> Timestamp,
        idle_warned_at -> Nullable<Timestamp>,
        handover_note -> Nullable<Text>,
        kind -> Nullable<Text>,
        concurrent_at_accept -> Integer,
        next_chat_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    chat_messages (chat_id, seq) {
        chat_id -> Text,
        seq -> Integer,
        sender -> Text,
        author_id -> Nullable<Text>,
        body -> Text,
        client_id -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    chat_offers (id) {
        id -> Text,
        chat_id -> Text,
        agent_id -> Text,
        offered_at -> Timestamp,
        expires_at -> Timestamp,
        idle_secs -> Integer,
        outcome -> Nullable<Text>,
        decided_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    chat_events (id) {
        id -> Text,
        chat_id -> Text,
        at -> Timestamp,
        kind -> Text,
        agent_id -> Nullable<Text>,
        note -> Nullable<Text>,
    }
}

diesel::table! {
    agent_presence (agent_id) {
        agent_id -> Text,
        status -> Text,
        status_since -> Timestamp,
        available_since -> Timestamp,
        last_assigned_at -> Nullable<Timestamp>,
        connections -> Integer,
        last_seen_at -> Timestamp,
        disconnected_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    presence_events (id) {
        id -> Text,
        agent_id -> Text,
        status -> Text,
        at -> Timestamp,
    }
}

diesel::joinable!(accounts -> merchants (merchant_id));
diesel::joinable!(bookings -> merchants (merchant_id));
diesel::joinable!(shifts -> bookings (booking_id));
diesel::joinable!(shifts -> merchants (merchant_id));
diesel::joinable!(shift_assignments -> shifts (shift_id));
diesel::joinable!(agents -> accounts (account_id));
diesel::joinable!(refresh_tokens -> accounts (account_id));
diesel::joinable!(email_tokens -> accounts (account_id));
diesel::joinable!(webhook_deliveries -> webhook_endpoints (endpoint_id));
diesel::joinable!(chats -> customers (customer_id));
diesel::joinable!(chat_messages -> chats (chat_id));
diesel::joinable!(chat_offers -> chats (chat_id));
diesel::joinable!(customer_identities -> customers (customer_id));

diesel::table! {
    chat_relay (id) {
        id -> Text,
        target -> Text,
        frame -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    agent_level_changes (id) {
        id -> Text,
        agent_id -> Text,
        month -> Text,
        from_level -> Integer,
        to_level -> Integer,
        quality_x100 -> Nullable<Integer>,
        adherence_bp -> Nullable<Integer>,
        minutes_worked -> Integer,
        in_grace -> Bool,
        reasons -> Text,
        ruleset_version -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    chat_reviews (id) {
        id -> Text,
        chat_id -> Text,
        agent_id -> Text,
        merchant_id -> Text,
        reviewer_id -> Text,
        reviewer_role -> Text,
        track -> Text,
        scores -> Text,
        total_x100 -> Integer,
        exemplary -> Bool,
        ruleset_version -> Text,
        chat_closed_at -> Timestamp,
        created_at -> Timestamp,
    }
}

diesel::table! {
    review_disputes (id) {
        id -> Text,
        review_id -> Text,
        agent_id -> Text,
        reason -> Text,
        status -> Text,
        answer -> Nullable<Text>,
        amended_x100 -> Nullable<Integer>,
        resolved_by -> Nullable<Text>,
        created_at -> Timestamp,
        resolved_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    model_chats (id) {
        id -> Text,
        chat_id -> Text,
        review_id -> Text,
        skill -> Text,
        transcript -> Text,
        added_by -> Text,
        added_at -> Timestamp,
    }
}

diesel::joinable!(chat_reviews -> chats (chat_id));
diesel::joinable!(review_disputes -> chat_reviews (review_id));

diesel::table! {
    payroll_runs (id) {
        id -> Text,
        period_from -> Date,
        period_to -> Date,
        starts_at -> Timestamp,
        ends_at -> Timestamp,
        status -> Text,
        ruleset_version -> Text,
        total_fen -> BigInt,
        agent_count -> Integer,
        progress_done -> Integer,
        progress_total -> Integer,
        summary -> Text,
        created_by -> Text,
        created_at -> Timestamp,
        computed_at -> Nullable<Timestamp>,
        published_by -> Nullable<Text>,
        published_at -> Nullable<Timestamp>,
        dispute_until -> Nullable<Timestamp>,
        approved_by -> Nullable<Text>,
        approved_at -> Nullable<Timestamp>,
        paid_by -> Nullable<Text>,
        paid_at -> Nullable<Timestamp>,
        payout_reference -> Nullable<Text>,
        error -> Nullable<Text>,
    }
}

diesel::table! {
    pay_lines (id) {
        id -> Text,
        run_id -> Text,
        agent_id -> Text,
        position -> Integer,
        kind -> Text,
        skill -> Nullable<Text>,
        chat_kind -> Nullable<Text>,
        units -> BigInt,
        rate_millifen -> BigInt,
        multiplier_bp -> Integer,
        amount_fen -> BigInt,
        note -> Nullable<Text>,
        sources -> Text,
    }
}

diesel::table! {
    payslips (run_id, agent_id) {
        run_id -> Text,
        agent_id -> Text,
        total_fen -> BigInt,
        quality_score_x100 -> Nullable<Integer>,
        quality_multiplier_bp -> Integer,
        level -> Integer,
        level_multiplier_bp -> Integer,
        minutes -> BigInt,
        chats -> BigInt,
        mailed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    pay_disputes (id) {
        id -> Text,
        run_id -> Text,
        agent_id -> Text,
        line_id -> Text,
        reason -> Text,
        status -> Text,
        answer -> Nullable<Text>,
        adjusted_fen -> Nullable<BigInt>,
        created_at -> Timestamp,
        resolved_by -> Nullable<Text>,
        resolved_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    pay_adjustments (id) {
        id -> Text,
        agent_id -> Text,
        amount_fen -> BigInt,
        reason -> Text,
        from_run_id -> Nullable<Text>,
        dispute_id -> Nullable<Text>,
        applied_run_id -> Nullable<Text>,
        created_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::joinable!(pay_lines -> payroll_runs (run_id));
diesel::joinable!(payslips -> payroll_runs (run_id));
diesel::joinable!(pay_disputes -> pay_lines (line_id));

diesel::table! {
    agent_follow_ups (id) {
        id -> Text,
        agent_id -> Text,
        admin_id -> Text,
        contacted_at -> Timestamp,
        channel -> Text,
        note -> Text,
        outcome -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    report_subscriptions (merchant_id, account_id, cadence) {
        merchant_id -> Text,
        account_id -> Text,
        cadence -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    merchants,
    accounts,
    agents,
    refresh_tokens,
    email_tokens,
    login_throttle,
    outbox,
    audit_log,
    lifecycle_events,
    seat_inventory,
    bookings,
    shifts,
    shift_assignments,
    work_stretches,
    notifications_sent,
    exam_tracks,
    exam_questions,
    exam_attempts,
    trial_slots,
    trials,
    certifications,
    briefings,
    briefing_revisions,
    quick_replies,
    merchant_widget_keys,
    merchant_api_keys,
    webhook_endpoints,
    webhook_deliveries,
    customers,
    customer_identities,
    chats,
    chat_messages,
    chat_offers,
    chat_events,
    agent_presence,
    presence_events,
    chat_relay,
    agent_level_changes,
    chat_reviews,
    review_disputes,
    model_chats,
    payroll_runs,
    pay_lines,
    payslips,
    pay_disputes,
    pay_adjustments,
    agent_follow_ups,
    report_subscriptions,
);
