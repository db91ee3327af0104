//! The course's generated data: clothing in the style of Fashion-MNIST, a street photo
//! and a brick texture, drawn from fixed seeds. The `course-data` program writes them to
//! `data/`; the course crate also draws clothing on the fly for its lab cells.

pub mod canvas;
pub mod clothing;
pub mod photo;
