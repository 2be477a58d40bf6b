// Package gormtests holds models shaped after those of GORM's own tests
// (gorm.io/gorm/utils/tests/models.go): a User with gorm.Model that has one
// Account, many Pets, polymorphic Toys and Tools, belongs to a Company and
// to a Manager (a User), manages a Team, speaks Languages (many2many) and
// has Friends (many2many to itself). The generator gives their tables the
// prefix gt_, so they sit beside the corpora's own users.
package gormtests

import (
	"database/sql"
	"time"

	"gorm.io/gorm"
)

// User is GORM tests' User, with every kind of association.
type User struct {
	gorm.Model
	Name      string
	Age       uint
	Birthday  *time.Time
	Account   Account
	Pets      []*Pet
	NamedPet  *Pet
	Toys      []Toy   `gorm:"polymorphic:Owner"`
	Tools     []Tools `gorm:"polymorphicType:Type;polymorphicId:CustomID"`
	CompanyID *int
	Company   Company
	ManagerID *uint
	Manager   *User
	Team      []User     `gorm:"foreignkey:ManagerID"`
	Languages []Language `gorm:"many2many:UserSpeak;"`
	Friends   []*User    `gorm:"many2many:user_friends;"`
	Active    bool
}

// Account is had by one User.
type Account struct {
	gorm.Model
	UserID sql.NullInt64
	Number string
}

// Pet belongs to a User and has one polymorphic Toy.
type Pet struct {
	gorm.Model
	UserID *uint
	Name   string
	Toy    Toy `gorm:"polymorphic:Owner;"`
}

// Toy belongs to a User or a Pet (polymorphic).
type Toy struct {
	gorm.Model
	Name      string
	OwnerID   string
	OwnerType string
}

// Tools belongs to a User through custom polymorphic columns.
type Tools struct {
	gorm.Model
	Name     string
	CustomID string
	Type     string
}

// Company has Users.
type Company struct {
	ID   int
	Name string
}

// Language is spoken by Users (many2many, table UserSpeak); its key is a code.
type Language struct {
	Code string `gorm:"primarykey"`
	Name string
}
