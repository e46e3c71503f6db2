-- Chirp's tables. Running this file drops all existing data.
DROP TABLE IF EXISTS posts, follows, users;

CREATE TABLE users (
    id bigserial PRIMARY KEY,
    name text NOT NULL,
    email text NOT NULL UNIQUE,
    password_hash text NOT NULL,
    avatar_url text,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE follows (
    follower_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    followee_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (follower_id, followee_id),
    CHECK (follower_id <> followee_id)
);
-- Counts a user's followers (the primary key serves "whom does X follow").
CREATE INDEX follows_followee_id_idx ON follows (followee_id);

CREATE TABLE posts (
    id bigserial PRIMARY KEY,
    author_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    body text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
-- The global feed: the latest posts of everybody.
CREATE INDEX posts_created_at_idx ON posts (created_at DESC);
-- Timelines and profiles: the latest posts of given authors.
CREATE INDEX posts_author_id_created_at_idx ON posts (author_id, created_at DESC);
